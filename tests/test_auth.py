"""Login, logout, throttling, password change, CSRF and security headers."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tilsyn.audit.models import AuditEvent
from tilsyn.auth.models import User
from tilsyn.auth.services import verify_password


def test_login_page_is_danish_and_public(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'lang="da"' in html
    assert "Log ind" in html and "Brugernavn" in html and "Adgangskode" in html


def test_every_other_page_requires_login(client, org):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_wrong_password_is_refused_with_danish_message(client, org):
    response = client.post("/login", data={"username": "admin", "password": "forkert-kode"})
    assert response.status_code == 200
    assert "Forkert brugernavn eller adgangskode" in response.get_data(as_text=True)


def test_login_success_lands_on_role_start_page_and_is_audited(client, org, session):
    response = client.post("/login", data={"username": "leder", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mine-teams")
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login")
        )
        == 1
    )


def test_throttling_after_repeated_failures(client, org):
    for _ in range(5):
        client.post("/login", data={"username": "admin", "password": "forkert-kode"})
    response = client.post("/login", data={"username": "admin", "password": factories.PASSWORD})
    assert response.status_code == 200
    assert "For mange mislykkede forsøg" in response.get_data(as_text=True)


def test_logout_requires_post_and_logs_out(login_as):
    client = login_as("admin")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_open_redirect_is_ignored(client, org):
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "admin", "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_password_change(login_as, session, org):
    client = login_as("direktoer")
    response = client.post(
        "/konto",
        data={
            "old_password": factories.PASSWORD,
            "new_password": "nyt-kodeord-123",
            "confirm": "nyt-kodeord-123",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "direktoer"))
    assert verify_password(user.password_hash, "nyt-kodeord-123")
    assert not verify_password(user.password_hash, factories.PASSWORD)


def test_passwords_are_argon2(org):
    assert org.users["admin"].password_hash.startswith("$argon2id$")


def test_csrf_is_enforced_when_enabled(make_app, org):
    app: Flask = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "Formularen er udløbet" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_assets_are_local(client):
    html = client.get("/login").get_data(as_text=True)
    assert "cdn." not in html and "https://" not in html.split("<body")[0]
    css = client.get("/static/tilsyn.css")
    assert css.status_code == 200
    css.close()


def test_user_text_is_escaped(login_as, session, org):
    org.unit_b.name = "<script>alert(1)</script>"
    session.commit()
    html = login_as("admin").get("/admin/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_english_locale(login_as):
    client = login_as("admin")
    client.post("/sprog/en", data={"next": "/login"})
    # English catalogue is optional for the login page wording; the html lang switches.
    assert 'lang="en"' in client.get("/admin/").get_data(as_text=True)


# --------------------------------------------------------------------------- translations


def _fake_english(monkeypatch, messages: dict[str, str]) -> None:
    """Make every gettext (Python and Jinja) translate ``messages`` (a stand-in catalogue)."""
    import io

    import flask_babel
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.support import Translations

    catalog = Catalog(locale="en")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(buffer)
    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: translations)


def test_python_labels_and_messages_are_translatable(app, client, org, monkeypatch):
    from tilsyn.formatting import fmt_bool
    from tilsyn.permissions import ROLE_LABELS, Role

    _fake_english(
        monkeypatch,
        {
            "Ja": "Yes",
            "Nej": "No",
            "Teamleder": "Team leader",
            "Forkert brugernavn eller adgangskode.": "Wrong username or password.",
            "Log ind for at fortsætte.": "Log in to continue.",
        },
    )
    with app.test_request_context():
        assert (fmt_bool(True), fmt_bool(False)) == ("Yes", "No")
        assert str(ROLE_LABELS[Role.TEAMLEDER]) == "Team leader"
        from tilsyn.extensions import login_manager

        assert str(login_manager.login_message) == "Log in to continue."
    html = client.post("/login", data={"username": "leder", "password": "forkert-kode"}).get_data(
        as_text=True
    )
    assert "Wrong username or password." in html
    client.post("/login", data={"username": "leder", "password": factories.PASSWORD})
    page = client.get("/konto").get_data(as_text=True)
    assert "Team leader" in page and "(Teamleder)" not in page


def test_role_label_follows_the_language(login_as):
    client = login_as("sagsbehandler")
    assert "(Sagsbehandler)" in client.get("/konto").get_data(as_text=True)
    client.post("/sprog/en", data={"next": "/konto"})
    assert "(Caseworker)" in client.get("/konto").get_data(as_text=True)


def test_form_validation_messages_are_danish_and_english(client, org):
    html = client.post("/login", data={"username": "", "password": ""}).get_data(as_text=True)
    assert "Feltet skal udfyldes." in html
    assert "This field is required." not in html
    client.post("/sprog/en", data={"next": "/login"})
    html = client.post("/login", data={"username": "", "password": ""}).get_data(as_text=True)
    assert "This field is required." in html
    assert "Feltet skal udfyldes." not in html


def test_every_wtforms_message_has_a_danish_translation():
    from babel.messages.pofile import read_po
    from wtforms.i18n import messages_path

    from tilsyn.formutil import TRANSLATIONS_DIR, wtforms_catalogue

    with (Path(messages_path()) / "wtforms.pot").open("rb") as fh:
        template = read_po(fh)
    with (TRANSLATIONS_DIR / "da" / "LC_MESSAGES" / "wtforms.po").open("rb") as fh:
        danish = read_po(fh, locale="da")
    msgids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in danish
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    assert msgids - translated == set()
    catalogue = wtforms_catalogue("da")
    assert catalogue.ugettext("Not a valid date value.") == "Ikke en gyldig dato."
    assert catalogue.ungettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        80,
    ).startswith("Feltet må højst")


# --------------------------------------------------------------------------- language


def test_language_chosen_before_login_is_kept(client, org):
    client.post("/sprog/en", data={"next": "/login"})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "admin", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert 'lang="en"' in client.get("/admin/").get_data(as_text=True)
    client.post("/logout")
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


def test_language_preference_is_stored_audited_and_used_at_login(app, login_as, session, org):
    client = login_as("direktoer")
    page = client.get("/konto").get_data(as_text=True)
    assert 'name="sprog-locale"' in page
    response = client.post("/konto/sprog", data={"sprog-locale": "en"})
    assert response.status_code == 302
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "direktoer"))
    assert user.locale == "en"
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "update", AuditEvent.actor_name == "direktoer"
        )
    ).one()
    assert event.details == {"locale": "en", "previous": None}
    # A new browser (no language chosen in it) gets the stored preference after login.
    other = app.test_client()
    assert 'lang="da"' in other.get("/login").get_data(as_text=True)
    other.post("/login", data={"username": "direktoer", "password": factories.PASSWORD})
    assert 'lang="en"' in other.get("/overblik").get_data(as_text=True)
    # An unknown language is refused without storing anything.
    assert client.post("/konto/sprog", data={"sprog-locale": "xx"}).status_code == 200
    session.expire_all()
    assert session.scalar(select(User.locale).where(User.username == "direktoer")) == "en"


# --------------------------------------------------------------------------- throttling


def _fail(client, username: str = "admin", **kwargs):
    return client.post("/login", data={"username": username, "password": "forkert-kode"}, **kwargs)


def _succeed(client, username: str = "admin", **kwargs):
    response = client.post(
        "/login", data={"username": username, "password": factories.PASSWORD}, **kwargs
    )
    client.post("/logout")
    return response


def test_successful_login_resets_the_failure_count(client, org):
    for _ in range(4):
        _fail(client)
    assert _succeed(client).status_code == 302
    for _ in range(4):
        _fail(client)
    # Eight failures within the window, but only four since the last success: not locked.
    assert _succeed(client).status_code == 302
    for _ in range(5):
        _fail(client)
    assert "For mange mislykkede forsøg" in _succeed(client).get_data(as_text=True)


def test_per_address_limit_blunts_password_spraying(app, client, org, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_IP", 4)
    spray = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    for username in ("admin", "leder", "revisor", "direktoer"):
        assert _fail(client, username, **spray).status_code == 200
    refused = _succeed(client, "sagsbehandler", **spray)
    assert refused.status_code == 200
    assert "fra din adresse" in refused.get_data(as_text=True)
    # Other addresses, and the usernames themselves, are not locked by it.
    assert (
        _succeed(client, "sagsbehandler", environ_base={"REMOTE_ADDR": "198.51.100.8"}).status_code
        == 302
    )
    assert _succeed(client, "admin").status_code == 302


def test_failed_logins_and_lockouts_are_audited_without_passwords(client, session, org):
    for _ in range(5):
        _fail(client, "leder")
    _fail(client, "leder")  # refused while locked
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    assert actions.count("login_failed") == 5
    assert actions.count("lockout") == 1
    assert actions.count("login_blocked") == 1
    assert actions.index("lockout") == actions.index("login_blocked") - 1
    leder = org.users["leder"]
    failed = [e for e in events if e.action == "login_failed"]
    assert failed
    assert all(e.object_type == "user" and e.object_id == str(leder.id) for e in failed)
    assert all(e.actor_name == "anonym" and e.actor_id is None for e in failed)
    assert failed[0].details["remote_addr"] == "127.0.0.1"
    assert "leder" in failed[0].summary
    text = repr([(e.summary, e.details) for e in events])
    assert "forkert-kode" not in text
    # An unknown username is audited too (no object id), still without the password.
    _fail(client, "findes.ikke")
    unknown = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login_failed").order_by(AuditEvent.id.desc())
    ).first()
    assert unknown.object_id is None and unknown.details["known_user"] is False


def test_client_address_behind_a_trusted_proxy(make_app, session, org):
    from tilsyn.auth.models import LoginAttempt

    behind = make_app(TRUSTED_PROXIES=1)
    headers = {"X-Forwarded-For": "203.0.113.9"}
    behind.test_client().post(
        "/login", data={"username": "admin", "password": "forkert-kode"}, headers=headers
    )
    # Without a trusted proxy the header is ignored (anyone could send it).
    direct = make_app()
    direct.test_client().post(
        "/login", data={"username": "leder", "password": "forkert-kode"}, headers=headers
    )
    session.expire_all()
    addresses = dict(session.execute(select(LoginAttempt.username, LoginAttempt.remote_addr)).all())
    assert addresses == {"admin": "203.0.113.9", "leder": "127.0.0.1"}
