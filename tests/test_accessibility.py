"""WCAG 2.1 AA in headless Chromium: axe-core over every page each role can reach, and no page
wider than the screen.

A live server on the demo municipality (``build_demo``: five teams, past and overdue rounds,
draws and reviews). For each role the test logs in and walks every same-site link from the
start page (breadth first), opening at most :data:`PER_PATTERN` pages per URL pattern (the same
page with different ids: ``/tilsyn/runder/N``), and on each page

- runs axe-core (``axe-playwright-python``, the WCAG 2.0/2.1 A and AA rules) and fails on any
  serious or critical violation;
- checks that the page does not scroll sideways at 1366 px, and for the caseworker also at
  390 px (a phone).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _require_chromium
from tilsyn import create_app
from tilsyn.demo import build_demo
from tilsyn.extensions import db

pytestmark = pytest.mark.browser

PASSWORD = "a11y-demo-kode-1"
ROLES = ("admin", "leder", "sagsbehandler", "direktoer", "revisor")
#: Pages opened per URL pattern (digits replaced): the same page with varied ids.
PER_PATTERN = 2
#: A walk that finds more pages than this has lost its way (pagers, filters): fail loudly.
MAX_PAGES = 120
WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
#: Links that download files or change state; never followed.
SKIP = re.compile(r"/csv$|\.csv$|fejlrapport|/logout|/sprog/")
AXE = Axe()


@dataclass
class Demo:
    app: Flask
    url: str


@dataclass
class Walk:
    pages: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    overflow: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    _require_chromium()
    path = tmp_path_factory.mktemp("a11y") / "demo.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        build_demo(db.session, password=PASSWORD)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="a11y-server", daemon=True)
    thread.start()
    try:
        yield Demo(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser(demo: Demo) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def log_in(browser: Browser, demo: Demo, username: str) -> Page:
    context = browser.new_context(locale="da-DK", viewport=WIDE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{demo.url}/login")
    page.get_by_label("Brugernavn", exact=True).fill(username)
    page.get_by_label("Adgangskode", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path != "/login", username
    return page


def _pattern(target: str) -> str:
    parts = urlsplit(target)
    keys = sorted(k.split("=", 1)[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


def _links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "main a[href], nav a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            if not href.startswith(base):
                continue
            parts = urlsplit(href[len(base) :])
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if not SKIP.search(parts.path):
            found.append(target)
    return found


def overflows(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
        )
    )


def serious_violations(page: Page) -> list[str]:
    results = AXE.run(page, options=AXE_OPTIONS)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def walk(page: Page, demo: Demo, *, phone: bool) -> Walk:
    result = Walk()
    start = urlsplit(page.url).path
    queue = [start]
    seen: set[str] = set()
    per_pattern: Counter[str] = Counter()
    while queue:
        target = queue.pop(0)
        pattern = _pattern(target)
        if target in seen or per_pattern[pattern] >= PER_PATTERN:
            continue
        seen.add(target)
        response = page.goto(demo.url + target)
        assert response is not None
        if response.status != 200 or "text/html" not in response.headers["content-type"]:
            continue
        per_pattern[pattern] += 1
        result.pages.append(target)
        assert len(result.pages) <= MAX_PAGES, result.pages
        result.violations += [f"{target}: {v}" for v in serious_violations(page)]
        if overflows(page):
            result.overflow.append(f"{target} at 1366 px")
        if phone:
            page.set_viewport_size(PHONE)
            if overflows(page):
                result.overflow.append(f"{target} at 390 px")
            result.violations += [f"{target} (390 px): {v}" for v in serious_violations(page)]
            page.set_viewport_size(WIDE)
        queue += [link for link in _links(page, demo.url) if link not in seen]
    return result


#: Pages each role must reach on the walk (so that an empty walk cannot pass).
MUST_REACH = {
    "admin": {"/admin/", "/revisionslog/", "/tilsyn/planer"},
    "leder": {"/mine-teams", "/tilsyn/runder/N", "/tilsyn/planer/N", "/stikproever/N"},
    "sagsbehandler": {"/mine-sager"},
    "direktoer": {"/overblik", "/risikovurdering/"},
    "revisor": {"/revisionslog/", "/stikproever/N"},
}


@pytest.mark.parametrize("username", ROLES)
def test_every_reachable_page_passes_axe_and_fits_the_screen(
    demo: Demo, browser: Browser, username: str
) -> None:
    page = log_in(browser, demo, username)
    try:
        result = walk(page, demo, phone=username == "sagsbehandler")
    finally:
        page.context.close()
    reached = {_pattern(p) for p in result.pages}
    assert MUST_REACH[username] <= reached, sorted(reached)
    assert result.violations == [], "\n".join(result.violations)
    assert result.overflow == [], result.overflow
