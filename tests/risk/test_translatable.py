"""Labels of the risk model shown in the UI are wrapped for translation (msgids extracted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file

from tilsyn.risk import rules
from tilsyn.risk.models import STATUSES, RiskModelVersion

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}


def msgids(relative: str, method: str = "python") -> set[str]:
    """The msgids ``pybabel extract -k _l`` finds in one source file; a msgid with a context
    is given as ``context + "\\x04" + msgid`` (the gettext convention)."""
    found = set()
    for _line, message, _comments, context in extract_from_file(
        method, str(ROOT / relative), keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add(msgid if context is None else f"{context}\x04{msgid}")
    return found


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tilsyn/risk/models.py", {"Kladde", "Godkendt", "Afløst"}),
        (
            "tilsyn/risk/rules.py",
            {
                "Sagens varighed (uger)",
                "Ordning (ordningskode)",
                "større end eller lig med",
                "er en af",
                "%(attribute)s: mangler",
                "%(attribute)s er en af: %(schemes)s",
            },
        ),
        (
            "tilsyn/risk/effect.py",
            {"Alle ordninger", "Maksimum", "Median", "%(rule)s og %(condition)s"},
        ),
        ("tilsyn/risk/case_risk.py", {"Ja", "Nej"}),
        (
            "templates/risk/_effect.html",
            {"Andel af sagerne, hver faktor rammer, pr. team", "Alle teams"},
        ),
    ],
)
def test_ui_labels_are_extracted_for_translation(path: str, expected: set[str]) -> None:
    method = "jinja2" if path.endswith(".html") else "python"
    assert expected <= msgids(path, method)


def test_every_attribute_and_operator_label_is_translatable() -> None:
    extracted = msgids("tilsyn/risk/rules.py")
    for label in [*rules.ATTRIBUTES.values(), *rules.OPERATORS.values()]:
        assert str(label) in extracted
    for label in STATUSES.values():
        assert str(label) in msgids("tilsyn/risk/models.py")
    assert RiskModelVersion(status="approved").status_label == "Godkendt"
    assert isinstance(RiskModelVersion(status="approved").status_label, str)
    conditions = [rules.Condition("weeks_open", ">", 26.0), rules.Condition("job_goal", "missing")]
    assert rules.condition_text(conditions[1]) == (
        "Jobmål registreret (1 = ja, 0 = nej; tom = ukendt): mangler"
    )
