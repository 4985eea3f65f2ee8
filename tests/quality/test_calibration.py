"""Calibration between leaders: option, assignment, blind second reviews, agreement, resolution."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.factories import catalogue, items_of, make_plan_row, make_round, make_user, two_team_draw
from tests.factories import option_id as opt
from tilsyn.audit.models import AuditEvent
from tilsyn.quality.calibration import (
    CalibrationAccessError,
    CalibrationError,
    agreement,
    assign_round,
    pairs,
    resolve,
    save_second_review,
    save_setting,
    second_review_page,
)
from tilsyn.reviews.estimates import point_estimates
from tilsyn.reviews.models import ReviewAnswer
from tilsyn.reviews.recording import save_review
from tilsyn.stats.agreement import cohen_kappa, gwet_ac1, percent_agreement


@pytest.fixture
def site(session, org):
    """An org-wide round asking JOBMAAL-01 and SAMLET-01 of AAA (team A, twice) and BBA (team
    B); leder leads team A, leder2 team B; calibration with both, 2 cases per team."""
    cps = catalogue(session)
    leder2 = make_user(session, "leder2", "teamleder", units=[org.unit_b])
    plan = make_plan_row(session, "Hele organisationen", None)
    draw = two_team_draw(session, org)
    rnd = make_round(session, plan, draw, [cps["JOBMAAL-01"], cps["SAMLET-01"]])
    session.commit()
    a1, a2, b1 = items_of(session, draw)
    return SimpleNamespace(
        cps=cps,
        plan=plan,
        rnd=rnd,
        a1=a1,
        a2=a2,
        b1=b1,
        org=org,
        leder=org.users["leder"],
        leder2=leder2,
    )


def _first(session, s, item, leader, jobmaal: str, samlet: str) -> None:
    j, sa = s.cps["JOBMAAL-01"], s.cps["SAMLET-01"]
    answers = {j.id: (opt(j, jobmaal), ""), sa.id: (opt(sa, samlet), "")}
    save_review(session, leader, s.rnd.id, item.id, answers, "", True)


def _second(session, s, case, leader, jobmaal: str, samlet: str, complete: bool = True):
    j, sa = s.cps["JOBMAAL-01"], s.cps["SAMLET-01"]
    answers = {j.id: opt(j, jobmaal), sa.id: opt(sa, samlet)}
    return save_second_review(session, leader, case.id, answers, complete)


def test_setting_needs_two_active_leaders(session, site) -> None:
    s = site
    admin = s.org.users["admin"]
    with pytest.raises(CalibrationError, match="mindst to ledere"):
        save_setting(session, admin, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder.id])
    with pytest.raises(CalibrationError, match="aktive teamledere"):
        save_setting(
            session,
            admin,
            s.plan,
            active=True,
            cases_per_team=2,
            leader_ids=[s.leder.id, s.org.users["sagsbehandler"].id],
        )
    with pytest.raises(CalibrationError, match="mellem 1 og 10"):
        save_setting(
            session,
            admin,
            s.plan,
            active=True,
            cases_per_team=0,
            leader_ids=[s.leder.id, s.leder2.id],
        )
    # a teamleder may not change the organisation-wide plan
    with pytest.raises(CalibrationAccessError):
        save_setting(
            session,
            s.leder,
            s.plan,
            active=True,
            cases_per_team=2,
            leader_ids=[s.leder.id, s.leder2.id],
        )
    setting = save_setting(
        session, admin, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder2.id, s.leder.id]
    )
    assert setting.leader_ids == sorted([s.leder.id, s.leder2.id])


def test_assignment_round_robin_never_own_team(session, site) -> None:
    s = site
    assert assign_round(session, None, s.rnd) == []  # no option yet
    save_setting(
        session, None, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder.id, s.leder2.id]
    )
    cases = assign_round(session, None, s.rnd)
    # team A has two sampled cases, team B one: all three are chosen
    assert sorted(c.draw_item_id for c in cases) == sorted([s.a1.id, s.a2.id, s.b1.id])
    reviewer = {c.draw_item_id: c.reviewer_id for c in cases}
    assert reviewer[s.a1.id] == reviewer[s.a2.id] == s.leder2.id  # team A's leader is leder
    assert reviewer[s.b1.id] == s.leder.id
    assert assign_round(session, None, s.rnd) == cases  # once per round
    event = session.scalar(select(AuditEvent).where(AuditEvent.object_type == "calibration"))
    assert event is not None and event.action == "assign"


def test_k_per_team_is_a_reproducible_random_choice(session, site) -> None:
    s = site
    save_setting(
        session, None, s.plan, active=True, cases_per_team=1, leader_ids=[s.leder.id, s.leder2.id]
    )
    cases = assign_round(session, None, s.rnd)
    assert len(cases) == 2  # one per team
    chosen = {c.draw_item_id for c in cases}
    assert s.b1.id in chosen and len(chosen & {s.a1.id, s.a2.id}) == 1


def test_blind_second_review_agreement_and_resolution(session, site) -> None:
    s = site
    save_setting(
        session, None, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder.id, s.leder2.id]
    )
    cases = {c.draw_item_id: c for c in assign_round(session, None, s.rnd)}
    ca1, ca2, cb1 = cases[s.a1.id], cases[s.a2.id], cases[s.b1.id]
    _first(session, s, s.a1, s.leder, "ja", "2")
    _first(session, s, s.a2, s.leder, "nej", "1")
    _first(session, s, s.b1, s.leder2, "ja", "3")

    # Only the assigned leader opens the second review, and it is blind until both are done.
    with pytest.raises(CalibrationAccessError):
        second_review_page(session, s.leder, ca1.id)
    page = second_review_page(session, s.leder2, ca1.id)
    assert page.first is None and page.editable
    assert {cp.code for cp in page.points} == {"JOBMAAL-01", "SAMLET-01"}
    with pytest.raises(CalibrationError, match="Mangler svar"):
        save_second_review(session, s.leder2, ca1.id, {s.cps["JOBMAAL-01"].id: None}, True)
    _second(session, s, ca1, s.leder2, "ja", "2", complete=False)
    assert second_review_page(session, s.leder2, ca1.id).first is None  # a draft stays blind
    assert pairs(session, [s.rnd.id]) == []
    _second(session, s, ca1, s.leder2, "ja", "1")  # disagrees on SAMLET-01
    _second(session, s, ca2, s.leder2, "nej", "1")
    _second(session, s, cb1, s.leder, "nej", "3")  # disagrees on JOBMAAL-01
    page = second_review_page(session, s.leder2, ca1.id)
    assert page.first is not None and not page.editable
    assert page.first[s.cps["SAMLET-01"].id].option_id == opt(s.cps["SAMLET-01"], "2")

    # Agreement per control point equals the statistics on the same pairs.
    rows = {r.key: r for r in agreement(session, [s.rnd.id])}
    j = rows["JOBMAAL-01"]
    ja, nej = opt(s.cps["JOBMAAL-01"], "ja"), opt(s.cps["JOBMAAL-01"], "nej")
    first, second = [ja, nej, ja], [ja, nej, nej]
    jc = s.cps["JOBMAAL-01"].id
    cats = sorted(f"{jc}:{o.id}" for o in s.cps["JOBMAAL-01"].scale.options)
    a = [f"{jc}:{x}" for x in first]
    b = [f"{jc}:{x}" for x in second]
    assert j.n == 3 and not j.is_theme
    assert j.percent == percent_agreement(a, b)
    assert j.kappa == cohen_kappa(a, b, categories=cats)
    assert j.ac1 == gwet_ac1(a, b, categories=cats)
    assert j.percent.estimate == pytest.approx(2 / 3)
    assert rows["SAMLET-01"].percent.estimate == pytest.approx(2 / 3)
    themes = [r for r in rows.values() if r.is_theme]
    assert {r.n for r in themes} == {3}

    # Resolution by a leader named in the option (not the auditor), with a reason.
    with pytest.raises(CalibrationError, match="hvorfor"):
        resolve(session, s.leder, cb1.id, jc, "second", " ")
    with pytest.raises(CalibrationError, match="ingen uenighed"):
        resolve(session, s.leder, ca2.id, jc, "second", "Enige")
    with pytest.raises(CalibrationAccessError):
        resolve(session, s.org.users["revisor"], cb1.id, jc, "second", "x")
    before = {e.code: e for e in point_estimates(session, [s.rnd.id])}["JOBMAAL-01"]
    assert before.in_order == 2  # the estimates use the first reviews
    resolve(session, s.leder, cb1.id, jc, "second", "Jobmålet er ikke konkret")
    after = {e.code: e for e in point_estimates(session, [s.rnd.id])}["JOBMAAL-01"]
    assert after.in_order == 1  # the standing answer replaced the first
    answer = session.scalar(
        select(ReviewAnswer)
        .where(ReviewAnswer.control_point_id == jc)
        .order_by(ReviewAnswer.id.desc())
    )
    assert answer.option_id == nej
    # agreement still counts the first answer as given
    assert {r.key: r for r in agreement(session, [s.rnd.id])}["JOBMAAL-01"].percent == j.percent
    with pytest.raises(CalibrationError, match="allerede afgjort"):
        resolve(session, s.leder, cb1.id, jc, "first", "x")
    resolution = next(p.resolution for p in pairs(session, [s.rnd.id]) if p.resolution)
    assert (resolution.first_option_id, resolution.second_option_id) == (ja, nej)


def test_the_first_reviewer_may_not_calibrate_the_case(session, site) -> None:
    s = site
    save_setting(
        session, None, s.plan, active=True, cases_per_team=2, leader_ids=[s.leder.id, s.leder2.id]
    )
    cases = {c.draw_item_id: c for c in assign_round(session, None, s.rnd)}
    case = cases[s.b1.id]  # assigned to leder; the admin reviews it first instead of leder2
    admin = s.org.users["admin"]
    _first(session, s, s.b1, admin, "ja", "2")
    case.reviewer_id = admin.id  # e.g. reassigned by hand
    session.flush()
    with pytest.raises(CalibrationError, match="selv gennemgået"):
        _second(session, s, case, admin, "ja", "2")


def test_assign_pending_after_the_scheduler_draws(session, site) -> None:
    from tilsyn.quality.calibration import assign_pending

    s = site
    assert assign_pending(session) == []  # no option
    save_setting(
        session, None, s.plan, active=True, cases_per_team=1, leader_ids=[s.leder.id, s.leder2.id]
    )
    (line,) = assign_pending(session)
    assert "2 sager til anden gennemgang" in line
    assert assign_pending(session) == []  # once per round
