"""The English catalogue: complete for the current source, compiled, and used by the app.

The msgids are the Danish UI strings. ``make translations`` extracts them, merges them into
``tilsyn/translations/en/LC_MESSAGES/messages.po`` and compiles the committed ``messages.mo``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[1]
BABEL_CFG = ROOT / "config" / "babel.cfg"
LC_MESSAGES = ROOT / "tilsyn" / "translations" / "en" / "LC_MESSAGES"
#: Top-level directories holding translatable source (the patterns in config/babel.cfg).
SOURCE_DIRS = ("tilsyn", "templates")
#: Same keywords as ``pybabel extract -k _l -k lazy_pgettext:1c,2`` (the defaults, lazy_gettext
#: imported as _l, and lazy_pgettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_pgettext": ((1, "c"), 2)}

MessageKey = tuple[str, str | None]


def _source_dirs_only(path: str) -> bool:
    """Recurse only into the source trees, skipping hidden and private directories."""
    parts = Path(path).relative_to(ROOT).parts
    return parts[0] in SOURCE_DIRS and not any(p.startswith((".", "_")) for p in parts)


def _extract() -> dict[MessageKey, dict[str | None, list[str]]]:
    """Every msgid (with its context) in the source: its plural msgid (None for a singular
    message, from ``ngettext``/``npgettext``) mapped to where it occurs."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    found: dict[MessageKey, dict[str | None, list[str]]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=_source_dirs_only,
    ):
        if isinstance(message, tuple):
            msgid, plural = message[0], (message[1] if len(message) > 1 else None)
        else:
            msgid, plural = message, None
        if msgid:
            places = found.setdefault((msgid, context), {}).setdefault(plural, [])
            places.append(f"{filename}:{lineno}")
    return found


def _read_po() -> Catalog:
    with (LC_MESSAGES / "messages.po").open("rb") as po:
        return read_po(po, locale="en")


def _entries(catalog: Catalog) -> dict[MessageKey, object]:
    return {
        (m.id if isinstance(m.id, str) else m.id[0], m.context): m.string for m in catalog if m.id
    }


def _translated(string: object) -> bool:
    if isinstance(string, str):
        return bool(string.strip())
    return isinstance(string, tuple) and all(isinstance(s, str) and s.strip() for s in string)


def _sort_key(key: MessageKey) -> tuple[str, str]:
    msgid, context = key
    return (msgid, context or "")


def _problem(message: Message | None, plural: str | None, num_plurals: int) -> str | None:
    """Why ``message`` does not translate a source message with plural msgid ``plural``."""
    if message is None:
        return "missing"
    if message.fuzzy:
        return "fuzzy"
    if plural is None:
        if message.pluralizable:
            return "plural in the catalogue, singular in the source"
        return None if _translated(message.string) else "empty"
    if not message.pluralizable or message.id[1] != plural:
        return f"plural form {plural!r} missing from the catalogue"
    strings = message.string
    if not isinstance(strings, tuple) or len(strings) != num_plurals:
        return f"needs {num_plurals} plural translations"
    return None if _translated(strings) else "empty"


def test_every_source_string_has_an_english_translation() -> None:
    extracted = _extract()
    # Guard against an extraction that silently finds nothing (e.g. a wrong base directory).
    assert ("Tilsynsrunder", None) in extracted
    every_place = [p for forms in extracted.values() for ps in forms.values() for p in ps]
    assert any(place.startswith("templates/") for place in every_place)
    assert any(place.startswith("tilsyn/") for place in every_place)

    catalog = _read_po()
    problems = []
    for key in sorted(extracted, key=_sort_key):
        msgid, context = key
        for plural, places in extracted[key].items():
            problem = _problem(catalog.get(msgid, context=context), plural, catalog.num_plurals)
            if problem is not None:
                label = msgid if context is None else f"{context}|{msgid}"
                problems.append(f"{problem}: {label!r} ({', '.join(places)})")
    assert not problems, (
        "Untranslated strings in tilsyn/translations/en/LC_MESSAGES/messages.po "
        "(run `make translations` and translate them):\n" + "\n".join(problems)
    )


def test_po_file_is_well_formed() -> None:
    catalog = _read_po()
    assert not catalog.fuzzy, "a fuzzy header makes pybabel compile skip the whole catalogue"
    assert str(catalog.locale) == "en"
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    errors = [f"{m.id!r}: {'; '.join(map(str, errs))}" for m, errs in catalog.check()]
    assert not errors, "Placeholder or format errors:\n" + "\n".join(errors)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"


def test_committed_mo_matches_po() -> None:
    catalog = _read_po()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with (LC_MESSAGES / "messages.mo").open("rb") as committed:
        assert _entries(read_mo(committed)) == _entries(read_mo(compiled)), (
            "messages.mo is out of date; run `make translations`"
        )


def _get(app: Flask, client: FlaskClient, path: str) -> str:
    # One application context per request, as in production: Flask-Babel caches the locale on
    # ``g``, which would otherwise be shared through the fixtures' long-lived app context.
    with app.app_context():
        response = client.get(path)
    assert response.status_code in (200, 404)
    return response.get_data(as_text=True)


def _switch_language(app: Flask, client: FlaskClient, lang: str, path: str) -> str:
    """Press the footer's language button on ``path``; return the page it leads back to."""
    with app.app_context():
        response = client.post(f"/sprog/{lang}", data={"next": path})
    assert response.status_code == 302
    assert response.headers["Location"] == path
    return _get(app, client, path)


def test_login_page_is_danish_by_default(app: Flask, client: FlaskClient) -> None:
    html = _get(app, client, "/login")
    assert '<html lang="da">' in html
    assert "Log ind i tilsyn" in html
    assert "Log in to tilsyn" not in html
    assert ">English</button>" in html


def test_switching_to_english_translates_the_ui(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("leder")
    danish = _get(app, client, "/tilsyn/")
    assert '<html lang="da">' in danish
    assert "Tilsynsrunder" in danish
    assert "Supervision rounds" not in danish

    english = _switch_language(app, client, "en", "/tilsyn/")
    assert '<html lang="en">' in english
    # Navigation (lazy_gettext in Python), page heading (template) and the logout button.
    assert "Supervision rounds" in english
    assert "Supervision plans" in english
    assert "Log out" in english
    assert ">Dansk</button>" in english
    assert "Tilsynsrunder" not in english
    assert "Tilsynsplaner" not in english
    assert "Log ud" not in english
    # Error pages use lazy strings evaluated per request.
    not_found = _get(app, client, "/findes-ikke")
    assert "Page not found" in not_found
    assert "Siden findes ikke" not in not_found

    back = _switch_language(app, client, "da", "/tilsyn/")
    assert '<html lang="da">' in back
    assert "Tilsynsrunder" in back
    assert "Supervision rounds" not in back
