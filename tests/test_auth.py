"""Login, logout, throttling, password change, CSRF and security headers."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tilsyn import create_app
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


def test_csrf_is_enforced_when_enabled(database_url: str, org):
    app: Flask = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True})
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
