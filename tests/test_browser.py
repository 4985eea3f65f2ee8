"""End-to-end in headless Chromium: every role logs in, lands on its start page, logs out.

Runs against a live server (werkzeug in a background thread) with CSRF protection switched on,
so the real login form, cookies and redirects are exercised. Uses Debian's Chromium
(``/usr/bin/chromium``); browsers are never downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from tests import factories
from tests.live import CHROMIUM, chromium, serving
from tilsyn import create_app
from tilsyn.auth.models import User
from tilsyn.extensions import db
from tilsyn.permissions import START_PAGES, Role, start_endpoint

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000

#: The h1 (or the start of it) of every page a role may land on after logging in.
START_HEADINGS = {
    "admin.index": "Administration",
    "core.leader_home": "Mine teams",
    "core.my_cases": "Mine sager",
    "core.director_home": "Overblik",
    "audit.index": "Revisionslog",
    "risk.assessment": "Risikovurdering",
}
#: Fixed landing paths for the roles whose start page is settled.
FIXED_PATHS = {
    "admin": "/admin/",
    "leder": "/mine-teams",
    "sagsbehandler": "/mine-sager",
    "direktoer": "/overblik",
}
ROLE_USERS = {
    "admin": Role.ADMIN,
    "leder": Role.TEAMLEDER,
    "sagsbehandler": Role.SAGSBEHANDLER,
    "direktoer": Role.DIREKTOER,
    "revisor": Role.REVISOR,
}


@dataclass(frozen=True)
class Landing:
    endpoint: str
    path: str


@dataclass
class LiveServer:
    app: Flask
    url: str
    landings: dict[str, Landing]


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    message = f"Chromium not found at {CHROMIUM}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _require_chromium()
    path = tmp_path_factory.mktemp("browser") / "browser.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": True})
    landings: dict[str, Landing] = {}
    with app.app_context():
        db.create_all()
        factories.make_org(db.session)
        for username in ROLE_USERS:
            user = db.session.scalar(select(User).where(User.username == username))
            assert user is not None
            with app.test_request_context():
                endpoint = start_endpoint(user)
                landings[username] = Landing(endpoint, url_for(endpoint))
        db.session.remove()
    with serving(app) as url:
        yield LiveServer(app, url, landings)


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(locale="da-DK")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Brugernavn", exact=True).fill(username)
    page.get_by_label("Adgangskode", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()


def _path(page: Page) -> str:
    return urlsplit(page.url).path


@pytest.mark.parametrize("username", list(ROLE_USERS))
def test_role_logs_in_lands_on_start_page_and_logs_out(
    live_server: LiveServer, page: Page, username: str
) -> None:
    landing = live_server.landings[username]
    assert landing.endpoint in START_PAGES[ROLE_USERS[username]]
    if username in FIXED_PATHS:
        assert landing.path == FIXED_PATHS[username]

    _log_in(page, live_server.url, username)

    assert _path(page) == landing.path
    heading = page.locator("h1")
    assert heading.count() == 1
    assert START_HEADINGS[landing.endpoint].lower() in heading.inner_text().lower()

    page.get_by_role("button", name="Log ud").click()
    page.wait_for_load_state()
    assert _path(page) == "/login"
    assert "Du er logget ud" in page.locator("main").inner_text()
    # Logged out for real: the start page now sends the browser back to the login page.
    page.goto(f"{live_server.url}{landing.path}")
    assert _path(page) == "/login"


def test_wrong_password_is_refused(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Brugernavn", exact=True).fill("leder")
    page.get_by_label("Adgangskode", exact=True).fill("forkert-kode")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()
    assert _path(page) == "/login"
    alert = page.get_by_role("alert")
    assert "Forkert brugernavn eller adgangskode" in alert.inner_text()


def test_caseworker_gets_403_on_admin(live_server: LiveServer, page: Page) -> None:
    _log_in(page, live_server.url, "sagsbehandler")
    response = page.goto(f"{live_server.url}/admin/")
    assert response is not None
    assert response.status == 403
    assert "Ingen adgang" in page.locator("h1").inner_text()


def test_login_page_screenshot(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    page.goto(f"{live_server.url}/login")
    assert "Log ind" in page.locator("h1").inner_text()
    target = tmp_path / "login.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.is_file()
    assert target.stat().st_size > 1000
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
