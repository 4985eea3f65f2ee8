"""The risk attribute ``prior_findings`` from completed reviews in the latest closed round."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from tests.factories import (
    SampledCase,
    catalogue,
    items_of,
    make_draw,
    make_plan_row,
    make_round,
    make_snapshot,
)
from tests.factories import option_id as opt
from tilsyn.reviews.findings import prior_findings_by_caseworker
from tilsyn.reviews.recording import save_review
from tilsyn.risk.population import load_population, score_population
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.models import RoundStatus


def _reviewed_round(session, org, plan, jobmaal, answers, *, label, start, tag, complete=True):
    """A closed round in which the given caseworkers' cases got JOBMAAL-01 answers."""
    draw = make_draw(
        session, org, [SampledCase(cw, "sygedagpenge", 0.5) for cw, _code in answers], tag=tag
    )
    rnd = make_round(session, plan, draw, [jobmaal], label=label, start=start)
    for item, (_cw, code) in zip(items_of(session, draw), answers, strict=True):
        save_review(
            session,
            org.users["admin"],
            rnd.id,
            item.id,
            {jobmaal.id: (opt(jobmaal, code), "")},
            "",
            complete,
        )
    rnd.status = RoundStatus.CLOSED
    session.flush()
    return rnd


def _first_quarter(session, org, plan, jobmaal):
    """2026-K1: AAA one of two cases not in order; AAB in order."""
    return _reviewed_round(
        session,
        org,
        plan,
        jobmaal,
        [(org.cw_a1, "nej"), (org.cw_a1, "ja"), (org.cw_a2, "ja")],
        label="2026-K1",
        start=date(2026, 1, 1),
        tag="a",
    )


def test_share_not_in_order_in_each_caseworkers_latest_closed_round(session, org):
    jobmaal = catalogue(session)["JOBMAAL-01"]
    plan = make_plan_row(session, "Plan A", None)
    a1, a2, b1 = org.cw_a1, org.cw_a2, org.cw_b1
    _first_quarter(session, org, plan, jobmaal)
    # 2026-K2: AAA all in order now; BBA only a draft review (does not count).
    _reviewed_round(
        session, org, plan, jobmaal, [(a1, "ja")], label="2026-K2", start=date(2026, 4, 1), tag="b"
    )
    _reviewed_round(
        session,
        org,
        plan,
        jobmaal,
        [(b1, "nej")],
        label="2026-K3",
        start=date(2026, 7, 1),
        tag="c",
        complete=False,
    )
    session.commit()

    assert prior_findings_by_caseworker(session, date(2026, 3, 15)) == {a1.id: 0.5, a2.id: 0.0}
    # A later as-of date sees AAA's newer round; the draft never counts; nothing before K1.
    assert prior_findings_by_caseworker(session, date(2026, 9, 1)) == {a1.id: 0.0, a2.id: 0.0}
    assert prior_findings_by_caseworker(session, date(2025, 12, 31)) == {}


def test_population_carries_prior_findings_and_the_default_factor_fires(session, org):
    jobmaal = catalogue(session)["JOBMAAL-01"]
    plan = make_plan_row(session, "Plan A", None)
    a1, a2, b1 = org.cw_a1, org.cw_a2, org.cw_b1
    _first_quarter(session, org, plan, jobmaal)
    snapshot = make_snapshot(
        session,
        [{"caseworker_id": cw.id, "unit_id": cw.unit_id} for cw in (a1, a2, b1)],
        as_of=date(2026, 5, 1),
        sha="d" * 64,
    )
    session.commit()
    population = load_population(
        session, snapshot, prior_findings=prior_findings_by_caseworker(session, snapshot.as_of)
    )
    by_caseworker = dict(
        zip(
            population.caseworker_ids.tolist(),
            population.attributes["prior_findings"].tolist(),
            strict=True,
        )
    )
    assert by_caseworker[a1.id] == 0.5 and by_caseworker[a2.id] == 0.0
    assert math.isnan(by_caseworker[b1.id])
    scored = score_population(population, ensure_default_model(session, None, date(2026, 1, 2)))
    fired = {
        int(cw): "TIDLIGERE_FUND" in scored.fired_codes(i)
        for i, cw in enumerate(np.asarray(population.caseworker_ids))
    }
    assert fired == {a1.id: True, a2.id: False, b1.id: False}
