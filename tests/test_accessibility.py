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

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page

from tests.live import chromium, serving
from tests.test_browser import TIMEOUT_MS, _require_chromium
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
SKIP = re.compile(r"/csv$|\.csv$|/excel$|\.xlsx$|fejlrapport|/logout|/sprog/")
AXE = Axe()
#: Set TILSYN_A11Y_LOG=path to follow a walk page by page.
LOG = os.environ.get("TILSYN_A11Y_LOG")


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
    with serving(app) as url:
        yield Demo(app, url)


@pytest.fixture(scope="module")
def browser(demo: Demo) -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


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
        if LOG:
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(f"{target}\n")
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
    "direktoer": {"/overblik", "/risiko/"},
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


def test_caseworker_sees_passed_reassessment_deadlines_on_a_phone(
    demo: Demo, browser: Browser
) -> None:
    page = log_in(browser, demo, "sagsbehandler")
    try:
        page.set_viewport_size(PHONE)
        page.goto(f"{demo.url}/mine-sager")
        rows = page.locator("table.table-stack tbody tr")
        passed = page.locator("table.table-stack tbody tr.deadline-passed")
        # The demo caseworker has cases whose re-assessment deadline has passed, and others.
        assert 0 < passed.count() < rows.count()
        assert passed.first.get_by_text("Frist overskredet").is_visible()
        assert "overskredet frist" in page.locator("main p.text-muted").first.inner_text()
        # One card per case: the case reference stays on one line, the deadline is on screen.
        ref = rows.first.locator(".case-ref")
        box = ref.bounding_box()
        assert box is not None and box["height"] < 40
        deadline = rows.first.locator("td").last.bounding_box()
        assert deadline is not None and deadline["x"] + deadline["width"] <= PHONE["width"]
        assert not overflows(page)
    finally:
        page.context.close()


def test_one_print_stylesheet_with_header_page_numbers_and_bars(
    demo: Demo, browser: Browser
) -> None:
    css = (Path(__file__).resolve().parents[1] / "tilsyn/static/tilsyn.css").read_text("utf-8")
    assert "counter(page)" in css and "counter(pages)" in css  # page numbers in the margin
    page = log_in(browser, demo, "direktoer")
    try:
        page.goto(f"{demo.url}/risiko/")
        page.emulate_media(media="print")
        header = page.locator("header.print-header")
        assert header.is_visible()
        assert demo.app.config["ORGANISATION_NAME"] in header.inner_text()
        assert "Risikovurdering" in header.inner_text()
        assert page.locator("footer.print-footer").is_visible()
        assert not page.locator("nav.navbar").is_visible()
        assert not page.get_by_role("button", name="Udskriv").is_visible()
        # The bars print (as borders), one per score bin with cases.
        widths = page.eval_on_selector_all(
            ".risk-bar", "els => els.map(e => parseFloat(getComputedStyle(e).borderTopWidth))"
        )
        assert widths and max(widths) > 5
        # The rationale column keeps room: far wider than the weight column.
        rationale = page.locator("table.factors tbody tr").first.locator("td").last
        weight = page.locator("table.factors tbody tr").first.locator("td").nth(3)
        r_box, w_box = rationale.bounding_box(), weight.bounding_box()
        assert r_box is not None and w_box is not None and r_box["width"] > 4 * w_box["width"]
        # Numbers and percentages never wrap ("%" alone on a line): one line box per cell.
        lines = page.eval_on_selector_all(
            "td.num",
            """els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);
                const tops = new Set([...r.getClientRects()].map(b => Math.round(b.top)));
                return [e.innerText, tops.size]; })""",
        )
        assert len(lines) > 10
        assert [text for text, count in lines if count != 1] == []
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    finally:
        page.context.close()


def _focused(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => { const e = document.activeElement; const s = getComputedStyle(e);
        return {tag: e.tagName, type: e.type || '', name: e.name || '',
                text: e.innerText || e.value || '',
                outline: s.outlineStyle + ' ' + s.outlineWidth}; }"""
    )


def test_review_form_by_keyboard_alone_with_visible_focus(demo: Demo, browser: Browser) -> None:
    page = log_in(browser, demo, "leder")
    try:
        page.goto(f"{demo.url}/gennemgang/")
        page.locator("main a[href*='/gennemgang/runder/']").first.click()
        review = page.locator("main a.btn", has_text="Gennemgå").first
        review.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/sager/" in page.url
        radios = page.locator("main input[type=radio]")
        groups = len(set(radios.evaluate_all("els => els.map(e => e.name)")))
        assert groups > 0
        page.locator("main").focus()
        answered = 0
        visited = 0
        for _ in range(400):
            page.keyboard.press("Tab")
            state = _focused(page)
            if state["tag"] in ("INPUT", "TEXTAREA", "BUTTON", "A", "SELECT"):
                visited += 1
                assert state["outline"].split()[0] != "none", state  # focus is visible
            if state["type"] == "radio":
                page.keyboard.press("Space")  # the first option of the group: checked
                answered += 1
            if state["type"] == "submit" and "Afslut gennemgang" in state["text"]:
                break
        else:
            raise AssertionError("Tab never reached «Afslut gennemgang»")
        assert answered == groups and visited > groups
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/sager/" not in page.url or "afsluttet" in page.locator("main").inner_text()
    finally:
        page.context.close()


def test_the_leaders_monday(demo: Demo, browser: Browser) -> None:
    """Log in, see the overdue round, review the next case, close the round only after
    confirming what is missing."""
    page = log_in(browser, demo, "leder")
    try:
        assert urlsplit(page.url).path == "/mine-teams"
        card = page.locator("article.card", has_text="Frist overskredet").first
        assert card.is_visible()
        assert "dage over fristen" in card.inner_text()
        round_link = card.locator("h3 a")
        round_name = round_link.inner_text()
        round_href = round_link.get_attribute("href")
        assert round_href is not None
        # Review the next case straight from the start page.
        card.get_by_role("link", name="Gennemgå næste sag").click()
        page.wait_for_load_state()
        assert "/sager/" in page.url
        reviewed = page.url
        names = sorted(
            set(page.locator("main input[type=radio]").evaluate_all("els => els.map(e => e.name)"))
        )
        assert names
        for name in names:
            page.locator(f"main input[name='{name}']").first.check()
        assert page.get_by_label("Gå videre til næste sag", exact=False).is_checked()
        page.get_by_role("button", name="Afslut gennemgang").click()
        page.wait_for_load_state()
        assert "er afsluttet" in page.locator("main").inner_text()
        assert page.url != reviewed and "/sager/" in page.url  # on to the next case
        # Close the round: «Afslut» is secondary and asks first, saying what is missing.
        page.goto(demo.url + round_href)
        assert round_name.split()[0] in page.locator("h1").inner_text()
        close = page.get_by_role("link", name="Afslut runden …")
        assert "btn-outline-secondary" in (close.get_attribute("class") or "")
        close.click()
        page.wait_for_load_state()
        assert urlsplit(page.url).path.endswith("/afslut")
        text = page.locator("main").inner_text()
        assert "Gennemgangen er ikke færdig" in text and "mangler" in text
        assert page.locator("main table tbody tr").count() > 0
        page.get_by_role("button", name="Afslut alligevel").click()
        page.wait_for_load_state()
        assert urlsplit(page.url).path == round_href
        assert "Afsluttet" in page.locator("main dl").inner_text()
    finally:
        page.context.close()
