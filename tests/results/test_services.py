"""The period design on hand-made rounds: union of rounds, non-response adjustment within
(round, stratum), dropped strata, provisional counts, units as recorded with the draw, scheme
filter, themes as ratios, small numbers, changes."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import (
    SampledCase,
    catalogue,
    items_of,
    make_draw,
    make_plan_row,
    make_population,
    make_round,
)
from tilsyn.results import services
from tilsyn.results.data import previous_period, shift_period, valid_period, year_earlier
from tilsyn.results.estimates import CONTROL_POINT, THEME, Options
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.risk import versions as risk
from tilsyn.sampling import draw as sampling
from tilsyn.sampling.design import DesignParams
from tilsyn.sampling.models import DrawItem
from tilsyn.stats.estimation import estimate_proportion, estimate_ratio


def _review(session, rnd, item, status, answers):
    review = CaseReview(
        round_id=rnd.id,
        draw_item_id=item.id,
        case_id=item.case_id,
        caseworker_id=item.caseworker_id,
        reviewer_name="leder",
        status=status,
    )
    session.add(review)
    session.flush()
    for cp, option in answers:
        opt = next(o for o in cp.scale.options if o.outcome == option)
        session.add(
            ReviewAnswer(
                review_id=review.id,
                control_point_id=cp.id,
                option_id=opt.id,
                outcome=opt.outcome,
                score=opt.score,
            )
        )
    session.flush()


@pytest.fixture
def period(session, org):
    """Two rounds in 2026-K3 (team A's and team B's plan) and one in 2026-K2."""
    cps = catalogue(session)
    p1, p2 = cps["JOBMAAL-01"], cps["JOBMAAL-02"]
    draw_a = make_draw(
        session,
        org,
        [
            SampledCase(org.cw_a1, "sygedagpenge", 0.5),
            SampledCase(org.cw_a1, "sygedagpenge", 0.25),
            SampledCase(org.cw_a1, "kontanthjaelp", 0.2),
            SampledCase(org.cw_a2, "sygedagpenge", 0.4),
            SampledCase(org.cw_a2, "sygedagpenge", 0.8),
        ],
        tag="a",
    )
    draw_b = make_draw(
        session,
        org,
        [SampledCase(org.cw_b1, "sygedagpenge", 0.5), SampledCase(org.cw_b1, "sygedagpenge", 0.5)],
        tag="b",
    )
    plan_a = make_plan_row(session, "Plan A", org.unit_a.id)
    plan_b = make_plan_row(session, "Plan B", org.unit_b.id)
    rnd_a = make_round(session, plan_a, draw_a, [p1, p2])
    rnd_b = make_round(session, plan_b, draw_b, [p1])
    a = items_of(session, draw_a)
    b = items_of(session, draw_b)
    # AAA: 2 of 3 completed (third missing); AAB: none completed (stratum drops out)
    _review(session, rnd_a, a[0], ReviewStatus.COMPLETED, [(p1, "in_order"), (p2, "in_order")])
    _review(session, rnd_a, a[1], ReviewStatus.COMPLETED, [(p1, "not_in_order"), (p2, "in_order")])
    _review(session, rnd_a, a[3], ReviewStatus.DRAFT, [(p1, "in_order")])
    _review(session, rnd_b, b[0], ReviewStatus.COMPLETED, [(p1, "in_order")])
    _review(session, rnd_b, b[1], ReviewStatus.COMPLETED, [(p1, "in_order")])
    draw_old = make_draw(session, org, [SampledCase(org.cw_b1, "sygedagpenge", 0.5)], tag="c")
    rnd_old = make_round(session, plan_b, draw_old, [p1], label="2026-K2", start=date(2026, 4, 1))
    _review(
        session,
        rnd_old,
        items_of(session, draw_old)[0],
        ReviewStatus.COMPLETED,
        [(p1, "not_in_order")],
    )
    session.commit()
    services.clear_cache()
    return {"p1": p1, "p2": p2, "a": a, "b": b}


def _row(rows, unit, level, code):
    return next(r for r in rows if r.unit == unit and r.level == level and r.code == code)


def test_period_design_non_response_and_units(session, org, period):
    rows = services.period_rows(session, ["2026-K3"], Options(min_n=3))["2026-K3"]
    org_row = _row(rows, None, CONTROL_POINT, "JOBMAAL-01")
    # respondents: AAA 0.5 (ja), AAA 0.25 (nej), BBA 0.5 (ja) x2. AAA's stratum in round A
    # has 3 sampled, 2 completed: π adjusted by 2/3; AAB's stratum drops out.
    pi = [0.5 * 2 / 3, 0.25 * 2 / 3, 0.5, 0.5]
    want = estimate_proportion([1, 0, 1, 1], pi, ["a", "a", "b", "b"])
    assert org_row.estimate.estimate == pytest.approx(want.estimate, abs=1e-14)
    assert org_row.estimate.std_error == pytest.approx(want.std_error, abs=1e-14)
    assert (org_row.n, org_row.sampled, org_row.completed, org_row.missing) == (4, 7, 4, 3)
    assert org_row.provisional
    unit_b = _row(rows, "Team B", CONTROL_POINT, "JOBMAAL-01")
    assert unit_b.estimate.estimate == 1.0 and not unit_b.provisional and unit_b.few is True
    unit_a = _row(rows, "Team A", CONTROL_POINT, "JOBMAAL-01")
    assert unit_a.missing == 3 and unit_a.n == 2 and unit_a.few
    # the second point is only asked in round A: round B's cases are outside its domain
    p2_row = _row(rows, None, CONTROL_POINT, "JOBMAAL-02")
    assert p2_row.n == 2 and p2_row.sampled == 5
    # theme: ratio of answers in order over both points
    theme = _row(rows, None, THEME, "JOBMAAL")
    want = estimate_ratio([2, 1, 1, 1], [2, 2, 1, 1], pi, ["a", "a", "b", "b"])
    assert theme.estimate.estimate == pytest.approx(want.estimate, abs=1e-14)
    assert theme.estimate.std_error == pytest.approx(want.std_error, abs=1e-14)
    # fixed order: organisation first, then units by name; theme before its points
    assert rows[0].unit is None
    assert [r.unit for r in rows if r.unit] == sorted(r.unit for r in rows if r.unit)


def test_unit_as_recorded_with_the_draw(session, org, period):
    before = services.period_rows(session, ["2026-K3"], Options())["2026-K3"]
    org.cw_a1.unit_id = org.unit_b.id  # AAA moves to team B after the draw
    session.commit()
    services.clear_cache()
    after = services.period_rows(session, ["2026-K3"], Options())["2026-K3"]
    key = ("Team A", CONTROL_POINT, "JOBMAAL-01")
    assert _row(before, *key).estimate == _row(after, *key).estimate


def test_scheme_filter(session, org, period):
    rows = services.period_rows(session, ["2026-K3"], Options(scheme="kontanthjaelp"))
    r = _row(rows["2026-K3"], None, CONTROL_POINT, "JOBMAAL-01")
    assert r.n == 0 and math.isnan(r.estimate.estimate)
    assert r.sampled == 1 and r.missing == 1


def test_change_vs_previous_period(session, org, period):
    rows = services.period_rows(session, ["2026-K3"], Options())["2026-K3"]
    r = _row(rows, "Team B", CONTROL_POINT, "JOBMAAL-01")
    assert r.change is not None and r.change.from_period == "2026-K2"
    assert r.change.diff == pytest.approx(1.0)
    assert r.change_year is None  # nothing a year earlier
    assert _row(rows, "Team A", CONTROL_POINT, "JOBMAAL-01").change is None


def test_cache_recomputes_after_a_review(session, org, period):
    opts = Options()
    first = services.period_rows(session, ["2026-K3"], opts)["2026-K3"]
    again = services.period_rows(session, ["2026-K3"], opts)["2026-K3"]
    assert (
        _row(first, None, CONTROL_POINT, "JOBMAAL-01").estimate
        == _row(again, None, CONTROL_POINT, "JOBMAAL-01").estimate
    )
    a = period["a"]
    review = session.scalar(select(CaseReview).where(CaseReview.draw_item_id == a[3].id))
    review.status = ReviewStatus.COMPLETED
    review.updated_at = review.updated_at.replace(year=2030)
    session.commit()
    later = services.period_rows(session, ["2026-K3"], opts)["2026-K3"]
    assert _row(later, None, CONTROL_POINT, "JOBMAAL-01").completed == 5


def test_period_labels():
    assert previous_period("2026-K1") == "2025-K4"
    assert year_earlier("2026-K3") == "2025-K3"
    assert year_earlier("2026-H2") == "2025-H2"
    assert previous_period("2026") == "2025"
    assert shift_period("2025-K4", 1) == "2026-K1"
    assert valid_period("2026-K4") and not valid_period("2026-K5") and not valid_period("x")


def test_draws_record_the_unit(session, org):
    risk.ensure_default_model(session, org.users["admin"])
    population = make_population(session, [(org.cw_a1, 10), (org.cw_b1, 8)])
    params = DesignParams(per_caseworker=2)
    draw = sampling.draw_sample(session, None, population, params, seed=3, prior_findings={})
    items = session.scalars(select(DrawItem).where(DrawItem.draw_id == draw.id)).all()
    assert items
    units = {it.caseworker_id: it.unit_id for it in items}
    assert units == {org.cw_a1.id: org.unit_a.id, org.cw_b1.id: org.unit_b.id}
