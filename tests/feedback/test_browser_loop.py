"""The loop in headless Chromium: a leader completes and releases a review with a finding and
creates a follow-up action; the caseworker, on a 390 px wide phone screen, sees the feedback,
acknowledges it and marks the action done; the leader approves it.

A live server (werkzeug in a thread) with CSRF switched on, Debian's ``/usr/bin/chromium`` (see
``tests/test_browser.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from tests import factories
from tests.factories import catalogue, items_of, make_plan_row, make_round, two_team_draw
from tests.live import chromium, serving
from tests.test_browser import TIMEOUT_MS, _log_in, _require_chromium
from tilsyn import create_app
from tilsyn.extensions import db
from tilsyn.feedback.models import ActionStatus, FeedbackRelease, FollowUpAction

pytestmark = pytest.mark.browser


@dataclass
class Loop:
    url: str
    app: object
    round_id: int
    item_id: int
    case_ref: str
    codes: dict[str, tuple[int, int, int]]  # code -> (control point id, "ja" id, "nej" id)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    _require_chromium()
    path = tmp_path_factory.mktemp("loop") / "loop.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        org = factories.make_org(db.session)
        points = catalogue(db.session)
        plan = make_plan_row(db.session, "Team A kvartal", org.unit_a.id)
        draw = two_team_draw(db.session, org)
        asked = [points["JOBMAAL-01"], points["SAMLET-01"]]
        rnd = make_round(db.session, plan, draw, asked)
        item = items_of(db.session, draw)[0]
        codes = {
            cp.code: (
                cp.id,
                next(o.id for o in cp.scale.options if o.outcome == "in_order"),
                next(o.id for o in cp.scale.options if o.outcome == "not_in_order"),
            )
            for cp in asked
        }
        data = (rnd.id, item.id, item.case_ref)
        db.session.commit()
        db.session.remove()
    with serving(app) as url:
        yield Loop(url, app, *data, codes)


@pytest.fixture(scope="module")
def browser(loop: Loop) -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def _page(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    context = browser.new_context(locale="da-DK", viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _flash(page: Page) -> str:
    return " ".join(page.locator(".alert").all_inner_texts())


def test_the_feedback_loop(loop: Loop, browser: Browser) -> None:
    # 1. The leader completes the review with a finding and releases it.
    leader = _page(browser)
    _log_in(leader, loop.url, "leder")
    leader.goto(f"{loop.url}/gennemgang/runder/{loop.round_id}/sager/{loop.item_id}")
    cp_job, _ja, nej = loop.codes["JOBMAAL-01"]
    cp_all, ja, _nej = loop.codes["SAMLET-01"]
    leader.check(f"#cp_{cp_job}-{nej}")
    leader.fill(f"#note_{cp_job}", "Der er ikke registreret et konkret jobmål.")
    leader.check(f"#cp_{cp_all}-{ja}")
    leader.get_by_role("button", name="Afslut gennemgang").click()
    leader.wait_for_load_state()
    assert "er afsluttet" in _flash(leader)
    leader.goto(f"{loop.url}/gennemgang/runder/{loop.round_id}/sager/{loop.item_id}/vis")
    leader.get_by_role("link", name="Feedback og opfølgning").click()
    leader.wait_for_load_state()
    leader.get_by_role("button", name="Frigiv som feedback").click()
    leader.wait_for_load_state()
    assert "1 gennemgange frigivet" in _flash(leader)

    # 2. ... and creates a follow-up action on the finding.
    form = leader.locator("details", has_text="Opret opfølgningspunkt")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    leader.get_by_label("Fund").select_option(str(cp_job))
    leader.get_by_label("Hvad skal gøres").fill("Registrér et konkret jobmål i sagen.")
    leader.get_by_label("Frist").fill((date.today() + timedelta(days=14)).isoformat())
    leader.get_by_role("button", name="Opret opfølgningspunkt").click()
    leader.wait_for_load_state()
    assert "Opfølgningspunktet er oprettet" in _flash(leader)

    # 3. The caseworker, on a phone (390 px), sees it, acknowledges and marks the action done.
    phone = _page(browser, 390, 844)
    _log_in(phone, loop.url, "sagsbehandler")
    phone.get_by_role("button", name="Vis menu").click()
    phone.get_by_role("link", name="Min feedback").click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "Min feedback"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("link", name=f"Sag {loop.case_ref}").click()
    phone.wait_for_load_state()
    text = phone.locator("main").inner_text()
    assert "Der er ikke registreret et konkret jobmål." in text
    assert "Registrér et konkret jobmål i sagen." in text
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("button", name="Kvittér").click()
    phone.wait_for_load_state()
    assert "du har kvitteret" in _flash(phone)
    phone.get_by_role("link", name="Mine opfølgningspunkter").first.click()
    phone.wait_for_load_state()
    phone.get_by_label("Hvad er gjort").fill("Jobmålet er registreret og aftalt med borgeren.")
    phone.get_by_role("button", name="Markér som udført").click()
    phone.wait_for_load_state()
    assert "markeret som udført" in _flash(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    # 4. The leader sees the acknowledgement and approves the action.
    leader.goto(f"{loop.url}/feedback/runder/{loop.round_id}")
    assert loop.case_ref in leader.locator("main").inner_text()
    leader.goto(f"{loop.url}/opfoelgning/?status=done")
    leader.get_by_role("button", name="Godkend").click()
    leader.wait_for_load_state()
    assert "er godkendt" in _flash(leader)

    with loop.app.app_context():  # type: ignore[attr-defined]
        action = db.session.scalar(select(FollowUpAction))
        rel = db.session.scalar(select(FeedbackRelease))
        assert action is not None and action.status == ActionStatus.APPROVED
        assert action.done_note.startswith("Jobmålet er registreret")
        assert rel is not None and rel.acknowledged_at is not None
        db.session.remove()
