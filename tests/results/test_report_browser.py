"""The report prints to PDF in headless Chromium (Debian's ``/usr/bin/chromium``), A4, with its
charts inline and no Content-Security-Policy violation."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import sync_playwright

from tests.live import CHROMIUM, CHROMIUM_ARGS, serving
from tests.results.conftest import DEMO_PASSWORD
from tests.test_browser import TIMEOUT_MS, _require_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_server(demo_app: Flask) -> Iterator[str]:
    _require_chromium()
    with serving(demo_app) as url:
        yield url


def test_report_prints_to_pdf(report_server: str, tmp_path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(locale="da-DK")
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            page.goto(f"{report_server}/login")
            page.get_by_label("Brugernavn", exact=True).fill("direktoer")
            page.get_by_label("Adgangskode", exact=True).fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log ind").click()
            page.wait_for_load_state()
            response = page.goto(f"{report_server}/rapport/2026-K3")
            assert response is not None and response.status == 200
            assert "Tilsynsrapport 2026-K3" in page.locator("h1").inner_text()
            charts = page.locator("svg.chart[role=img]")
            assert charts.count() >= 2
            assert charts.first.locator("title").count() == 1
            page.emulate_media(media="print")
            assert page.locator("nav.navbar").is_hidden()  # the print CSS applies
            assert page.locator(".report-running-header").is_visible()
            pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            (tmp_path / "rapport.pdf").write_bytes(pdf)
            assert pdf.startswith(b"%PDF")
            pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
            assert pages >= 2
            # A4 is 595 x 842 points
            box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
            assert box is not None
            assert abs(float(box.group(1)) - 595) < 2 and abs(float(box.group(2)) - 842) < 2
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            browser.close()
