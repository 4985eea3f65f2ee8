"""Census share beside the estimate for data-answered control points."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import (
    AS_OF,
    Org,
    catalogue,
    draw_record,
    make_plan_row,
    make_round,
    make_snapshot,
    option_id,
    round_control_point_id,
)
from tilsyn.cases.models import Case
from tilsyn.quality.census import method_check, round_census
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.models import RoundStatus
from tilsyn.sampling.models import DrawItem
from tilsyn.stats.estimation import estimate_proportion


def _cv_cases(org: Org) -> list[dict[str, object]]:
    """Team A's AAA: 30 kontanthjælp cases (cv 1 ×12, 0 ×10, unknown ×8) and 5 fleksjob
    cases (CV-01 is not asked); team B's BBA: 5 kontanthjælp cases without CV."""
    cases: list[dict[str, object]] = []
    for cv in [True] * 12 + [False] * 10 + [None] * 8:
        cases.append({"caseworker_id": org.cw_a1.id, "scheme": "kontanthjaelp", "cv_on_jobnet": cv})
    for _ in range(5):
        cases.append({"caseworker_id": org.cw_a1.id, "scheme": "fleksjob", "cv_on_jobnet": False})
    for _ in range(5):
        cases.append(
            {"caseworker_id": org.cw_b1.id, "scheme": "kontanthjaelp", "cv_on_jobnet": False}
        )
    for i, c in enumerate(cases):
        c["case_ref"] = f"C{i:03d}"
        c["start_date"] = AS_OF - timedelta(days=200)
    return cases


def _setup(session: Session, org: Org) -> tuple[object, dict[str, int], list[DrawItem]]:
    points = catalogue(session)
    cv = points["CV-01"]
    assert cv.data_rule is not None  # the starter catalogue answers CV-01 from the export
    snapshot = make_snapshot(session, _cv_cases(org))
    ids = dict(
        session.execute(select(Case.case_ref, Case.id).where(Case.snapshot_id == snapshot.id)).all()
    )
    model = ensure_default_model(session, org.users["admin"], date(2026, 1, 2))
    # The frame: AAA's cases, minus C000 (excluded as sampled in a recent round).
    draw = draw_record(
        snapshot,
        model,
        sample_size=6,
        population_size=34,
        params={
            "caseworker_ids": [org.cw_a1.id],
            "exclude_case_refs": ["C000"],
            "exclusion_fallback": True,
            "exclusion_fallback_caseworker_ids": [],
        },
    )
    session.add(draw)
    session.flush()
    # sampled: C001, C002 (cv yes), C013, C014 (cv no), C023 (unknown), C031 (fleksjob)
    sampled = [
        ("C001", 0.2),
        ("C002", 0.4),
        ("C013", 0.2),
        ("C014", 0.5),
        ("C023", 0.2),
        ("C031", 0.3),
    ]
    items = []
    for order, (ref, pi) in enumerate(sampled):
        item = DrawItem(
            draw_id=draw.id,
            case_id=ids[ref],
            case_ref=ref,
            caseworker_id=org.cw_a1.id,
            scheme="fleksjob" if ref == "C031" else "kontanthjaelp",
            stratum="AAA",
            risk_score=0.0,
            inclusion_probability=pi,
            factors=[],
            order=order,
        )
        session.add(item)
        items.append(item)
    session.flush()
    plan = make_plan_row(session, "Team A", org.unit_a.id)
    rnd = make_round(session, plan, draw, [cv, points["JOBMAAL-02"]], status=RoundStatus.CLOSED)
    codes = {o.code: o.id for o in cv.scale.options}
    return rnd, codes, items


def _review(
    session: Session,
    rnd: object,
    item: DrawItem,
    cp_id: int,
    chosen: tuple[int, str],
    prefill: int | None,
) -> None:
    """A completed review answering ``chosen`` = (option id, outcome), prefilled ``prefill``."""
    review = CaseReview(
        round_id=rnd.id,  # type: ignore[attr-defined]
        draw_item_id=item.id,
        case_id=item.case_id,
        caseworker_id=item.caseworker_id,
        reviewer_name="leder",
        status=ReviewStatus.COMPLETED,
    )
    session.add(review)
    session.flush()
    session.add(
        ReviewAnswer(
            review_id=review.id,
            control_point_id=cp_id,
            option_id=chosen[0],
            outcome=chosen[1],
            prefill_option_id=prefill,
            override_reason="" if prefill in (None, chosen[0]) else "Cv'et ligger i sagen",
        )
    )
    session.flush()


def test_census_share_and_same_domain_estimate(session: Session, org: Org) -> None:
    rnd, codes, items = _setup(session, org)
    cp_id = round_control_point_id(rnd, "CV-01")
    ja, nej = (codes["ja"], "in_order"), (codes["nej"], "not_in_order")
    # C001 confirmed ja, C002 confirmed ja, C013 overridden nej -> ja, C014 confirmed nej,
    # C023 (no prefill) answered nej, C031 (fleksjob) not asked.
    _review(session, rnd, items[0], cp_id, ja, ja[0])
    _review(session, rnd, items[1], cp_id, ja, ja[0])
    _review(session, rnd, items[2], cp_id, ja, nej[0])
    _review(session, rnd, items[3], cp_id, nej, nej[0])
    _review(session, rnd, items[4], cp_id, nej, None)

    (point,) = round_census(session, rnd)  # JOBMAAL-02 has no rule
    assert point.code == "CV-01"
    # frame: AAA's 35 cases minus C000; CV-01 applies to the 29 kontanthjælp cases left;
    # the rule answers 11 (yes) + 10 (no) of them; team B's cases are outside the frame
    assert (point.census_in_order, point.census_answered) == (11, 21)
    assert point.census_share == 11 / 21
    assert (point.prefilled, point.overridden) == (4, 1)
    # the estimate: the four reviewed cases the rule answers (C023 has no rule answer; the
    # leader's answers count, so the override of C013 counts as in order)
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    pi = np.array([0.2, 0.4, 0.2, 0.5, 0.2, 0.3])[:5]
    domain = np.array([True, True, True, True, False])
    want = estimate_proportion(y[:5], pi, ["AAA"] * 5, domain)
    assert point.estimate == want
    assert point.estimate.n == 4
    assert point.covered == (want.ci_low <= 11 / 21 <= want.ci_high)

    rows, points = method_check(session, [rnd])
    assert points == [point]
    assert [(r.code, r.rounds, r.covered) for r in rows] == [
        ("CV-01", 1, int(bool(point.covered))),
        ("", 1, int(bool(point.covered))),
    ]


def test_round_without_reviews_is_not_comparable(session: Session, org: Org) -> None:
    rnd, _codes, _items = _setup(session, org)
    (point,) = round_census(session, rnd)
    assert point.census_answered == 21
    assert point.estimate.n == 0
    assert math.isnan(point.estimate.estimate)
    assert point.covered is None
    rows, _ = method_check(session, [rnd])
    assert [(r.code, r.rounds) for r in rows] == [("", 0)]
    assert math.isnan(rows[-1].rate)


def test_round_without_draw(session: Session, org: Org) -> None:
    points = catalogue(session)
    plan = make_plan_row(session, "Team A", org.unit_a.id)
    rnd = make_round(session, plan, None, [points["CV-01"]])
    assert round_census(session, rnd) == []
    assert option_id(points["CV-01"], "ja") > 0
