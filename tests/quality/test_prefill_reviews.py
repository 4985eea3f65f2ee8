"""Acceptance: a prefilled answer confirmed and one overridden with a reason show up correctly
in the round's results and in the override counts; the form and the read-only page say so."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from tests.factories import SampledCase, catalogue, items_of, make_draw, make_plan_row, make_round
from tests.factories import option_id as opt
from tilsyn.audit.models import AuditEvent
from tilsyn.cases.models import Case
from tilsyn.quality.census import round_census
from tilsyn.reviews.errors import ReviewError
from tilsyn.reviews.estimates import point_estimates
from tilsyn.reviews.models import CaseReview, ReviewAnswer
from tilsyn.reviews.recording import open_review, save_review


@pytest.fixture
def site(session, org):
    """Team A's round asking CV-01 (data-answered) and BORGER-01 for two kontanthjælp cases of
    AAA: the export says CV on Jobnet for the first, none for the second."""
    cps = catalogue(session)
    draw = make_draw(
        session,
        org,
        [
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
            SampledCase(org.cw_a1, "kontanthjaelp", 0.25),
        ],
    )
    first, second = items_of(session, draw)
    for item, cv in ((first, True), (second, False)):
        session.execute(update(Case).where(Case.id == item.case_id).values(cv_on_jobnet=cv))
    rnd = make_round(
        session,
        make_plan_row(session, "Team A", org.unit_a.id),
        draw,
        [cps["CV-01"], cps["BORGER-01"]],
    )
    session.commit()
    return SimpleNamespace(cps=cps, rnd=rnd, first=first, second=second, org=org)


def _answers(s, cv_code: str, borger_code: str = "ja") -> dict[int, tuple[int | None, str]]:
    cv, borger = s.cps["CV-01"], s.cps["BORGER-01"]
    return {cv.id: (opt(cv, cv_code), ""), borger.id: (opt(borger, borger_code), "")}


def test_confirmed_and_overridden_answers_in_results_and_counts(session, site) -> None:
    s = site
    leader = s.org.users["leder"]
    cv = s.cps["CV-01"]
    # The form starts at the export's answers.
    page = open_review(session, leader, s.rnd.id, s.first.id)
    assert page.prefills[cv.id].option_id == opt(cv, "ja")
    assert page.values[cv.id].option_id == opt(cv, "ja")
    assert s.cps["BORGER-01"].id not in page.prefills
    page2 = open_review(session, leader, s.rnd.id, s.second.id)
    assert page2.values[cv.id].option_id == opt(cv, "nej")

    # First case: confirmed. Second case: overridden to "ja"; completing needs a reason.
    save_review(session, leader, s.rnd.id, s.first.id, _answers(s, "ja"), "", True)
    session.commit()
    with pytest.raises(ReviewError, match="CV-01: svaret afviger"):
        save_review(session, leader, s.rnd.id, s.second.id, _answers(s, "ja"), "", True)
    session.rollback()
    save_review(
        session,
        leader,
        s.rnd.id,
        s.second.id,
        _answers(s, "ja"),
        "",
        True,
        {cv.id: "Cv'et er lagt på Jobnet efter udtrækket"},
    )
    session.commit()

    rows = {
        r.draw_item_id: a
        for r, a in session.execute(
            select(CaseReview, ReviewAnswer)
            .join(ReviewAnswer, ReviewAnswer.review_id == CaseReview.id)
            .where(ReviewAnswer.control_point_id == cv.id)
        ).all()
    }
    confirmed, overridden = rows[s.first.id], rows[s.second.id]
    assert (confirmed.prefill_option_id, confirmed.overridden, confirmed.override_reason) == (
        opt(cv, "ja"),
        False,
        "",
    )
    assert overridden.prefill_option_id == opt(cv, "nej")
    assert overridden.option_id == opt(cv, "ja") and overridden.overridden
    assert overridden.override_reason == "Cv'et er lagt på Jobnet efter udtrækket"

    # The round's results use the leaders' answers: both cases in order.
    (estimate,) = [e for e in point_estimates(session, [s.rnd.id]) if e.code == "CV-01"]
    assert (estimate.answered, estimate.in_order) == (2, 2)
    assert estimate.share.estimate == 1.0
    # The override counts per control point.
    (census,) = round_census(session, s.rnd)
    assert (census.code, census.prefilled, census.overridden) == ("CV-01", 2, 1)
    # census: the export says 1 of the 2 cases has a CV on Jobnet
    assert (census.census_in_order, census.census_answered) == (1, 2)
    audit = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "complete").order_by(AuditEvent.id)
    ).all()
    assert [(e.details["prefilled"], e.details["overridden"]) for e in audit] == [(1, 0), (1, 1)]


def test_a_draft_may_override_without_a_reason(session, site) -> None:
    s = site
    save_review(session, s.org.users["leder"], s.rnd.id, s.second.id, _answers(s, "ja"), "", False)
    (answer,) = [
        a for a in session.scalars(select(ReviewAnswer)) if a.control_point_id == s.cps["CV-01"].id
    ]
    assert answer.overridden and answer.override_reason == ""


def test_form_and_read_only_page(session, site, login_as) -> None:
    s = site
    cv = s.cps["CV-01"]
    client = login_as("leder")
    url = f"/gennemgang/runder/{s.rnd.id}/sager/{s.second.id}"
    page = client.get(url).get_data(as_text=True)
    assert "forudfyldt fra sagsudtræk pr. 01-12-2026: »Nej«" in page
    assert f'value="{opt(cv, "nej")}" checked' in page
    assert f'name="reason_{cv.id}"' in page
    data = {
        f"cp_{cv.id}": str(opt(cv, "ja")),
        f"cp_{s.cps['BORGER-01'].id}": str(opt(s.cps["BORGER-01"], "ja")),
        f"note_{cv.id}": "",
        f"note_{s.cps['BORGER-01'].id}": "",
        "overall_note": "",
        "complete": "Afslut gennemgang",
    }
    refused = client.post(url, data=data).get_data(as_text=True)
    assert "CV-01: svaret afviger fra det forudfyldte svar" in refused
    data[f"reason_{cv.id}"] = "Cv findes i sagen"
    assert client.post(url, data=data).status_code == 302
    view = client.get(url + "/vis").get_data(as_text=True)
    assert "Ændret fra det forudfyldte »Nej«: Cv findes i sagen" in view
