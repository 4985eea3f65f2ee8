"""Design-based estimates from recorded reviews, checked against hand computation.

The oracle below is the textbook Hájek ratio with stratified with-replacement linearisation
(Särndal, Swensson & Wretman §5.7, 10.3), written out with exact fractions. It is deliberately
not the project's code: these tests check which cases, which π, which strata and which domain
the service hands to the estimator.
"""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction as F

import pytest

from tests.factories import SampledCase, catalogue, items_of, make_draw, make_plan_row, make_round
from tests.factories import option_id as opt
from tilsyn.catalogue.points import save_control_point
from tilsyn.reviews.estimates import (
    point_estimates,
    respondent_answers,
    round_respondents,
    scored_scales,
    theme_weakness,
)
from tilsyn.reviews.models import ReviewAnswer
from tilsyn.reviews.recording import save_review
from tilsyn.rounds.models import RoundStatus


def oracle(units: list[tuple[str, F, int | None]]) -> tuple[F, F]:
    """Hájek share and linearisation variance for ``(stratum, π, y)``; y None = outside the
    domain (still a unit of its stratum). Lonely strata are centred at 0 (R's "adjust")."""
    dom = [(h, 1 / p, y) for h, p, y in units if y is not None]
    total_w = sum(w for _, w, _ in dom)
    share = sum(w * y for _, w, y in dom) / total_w
    z: dict[str, list[F]] = {}
    for h, p, y in units:
        z.setdefault(h, []).append(F(0) if y is None else (1 / p) * (y - share) / total_w)
    variance = F(0)
    for values in z.values():
        n = len(values)
        if n == 1:
            variance += values[0] ** 2
            continue
        mean = sum(values) / n
        variance += F(n, n - 1) * sum((v - mean) ** 2 for v in values)
    return share, variance


def review(session, actor, rnd, item, answers, complete=True):
    return save_review(session, actor, rnd.id, item.id, answers, "", complete)


@pytest.fixture
def rettid(session, org):
    """RETTID-01 (Ja/Nej/Ikke relevant, jobafklaring only) asked of six sampled cases.

    Stratum S1: ja (π ½), nej (π ¼), ikke relevant (π 1), a sygedagpenge case (π ½, not asked);
    stratum S2: nej (π 1/5), ja (π 1/3).
    """
    cps = catalogue(session)
    units = [
        SampledCase(org.cw_a1, "jobafklaring", 0.5, "S1"),
        SampledCase(org.cw_a1, "jobafklaring", 0.25, "S1"),
        SampledCase(org.cw_a1, "jobafklaring", 1.0, "S1"),
        SampledCase(org.cw_a1, "sygedagpenge", 0.5, "S1"),
        SampledCase(org.cw_a2, "jobafklaring", 0.2, "S2"),
        SampledCase(org.cw_a2, "jobafklaring", 1 / 3, "S2"),
    ]
    draw = make_draw(session, org, units)
    rnd = make_round(
        session, make_plan_row(session, "Plan A", org.unit_a.id), draw, [cps["RETTID-01"]]
    )
    return cps, rnd, items_of(session, draw)


def answer_rettid(session, org, cps, rnd, items, *, last_complete: bool = True):
    r = cps["RETTID-01"]
    admin = org.users["admin"]
    for item, code in zip(items, ("ja", "nej", "ir", None, "nej", "ja"), strict=True):
        complete = last_complete or item is not items[-1]
        answers = {} if code is None else {r.id: (opt(r, code), "")}
        review(session, admin, rnd, item, answers, complete)
    session.commit()


def test_share_matches_hand_computed_hajek_with_full_strata(session, org, rettid):
    cps, rnd, items = rettid
    answer_rettid(session, org, cps, rnd, items)
    [e] = point_estimates(session, [rnd.id])
    # By hand: domain weights 2, 4, 5, 3; in order 2 + 3 -> 5/14.
    assert e.share.estimate == pytest.approx(5 / 14, abs=1e-12)
    share, variance = oracle(
        [
            ("S1", F(1, 2), 1),
            ("S1", F(1, 4), 0),
            ("S1", F(1), None),  # not applicable: outside the domain, inside the stratum
            ("S1", F(1, 2), None),  # not asked (scheme): the same
            ("S2", F(1, 5), 0),
            ("S2", F(1, 3), 1),
        ]
    )
    assert share == F(5, 14)
    assert variance == F(131, 1372)  # worked out by hand in the module docstring's terms
    assert e.share.std_error == pytest.approx(math.sqrt(variance), rel=1e-12)
    assert (e.share.n, e.share.df) == (4, 2)
    assert 0.0 <= e.share.ci_low < e.share.estimate < e.share.ci_high <= 1.0
    assert (e.answered, e.in_order, e.not_applicable) == (4, 2, 1)
    assert e.raw_share == 0.5  # the unweighted sample share, only labelled as such
    assert (e.sampled, e.completed, e.provisional) == (6, 6, False)
    assert e.code == "RETTID-01" and e.series_id == cps["RETTID-01"].id and not e.is_core
    assert e.mean is None  # a yes/no scale has no scores


def test_unreviewed_cases_are_non_response_and_make_the_estimate_provisional(session, org, rettid):
    cps, rnd, items = rettid
    answer_rettid(session, org, cps, rnd, items, last_complete=False)  # the last one: a draft
    [e] = point_estimates(session, [rnd.id])
    assert e.provisional and (e.sampled, e.completed) == (6, 5)
    # The completed reviews are the sample: S2 keeps one unit (a lonely stratum).
    share, variance = oracle(
        [
            ("S1", F(1, 2), 1),
            ("S1", F(1, 4), 0),
            ("S1", F(1), None),
            ("S1", F(1, 2), None),
            ("S2", F(1, 5), 0),
        ]
    )
    assert share == F(2, 11) and variance == F(584, 14641)
    assert e.share.estimate == pytest.approx(float(share), abs=1e-12)
    assert e.share.std_error == pytest.approx(math.sqrt(variance), rel=1e-12)


def test_respondents_are_the_completed_reviews_with_their_design_and_answers(session, org, rettid):
    cps, rnd, items = rettid
    answer_rettid(session, org, cps, rnd, items, last_complete=False)  # the last one: a draft
    resp = round_respondents(session, rnd)
    assert len(resp) == 5 and list(resp.position.values()) == [0, 1, 2, 3, 4]
    assert [r.case_id for r in resp.rows] == [it.case_id for it in items[:5]]
    assert resp.pi.tolist() == [0.5, 0.25, 1.0, 0.5, 0.2]
    assert resp.strata.tolist() == [0, 0, 0, 0, 1]
    assert {r.unit_id for r in resp.rows} == {org.cw_a1.unit_id}
    r = cps["RETTID-01"]
    by_point = respondent_answers(session, resp, [r.id], ReviewAnswer.outcome)
    assert sorted(a.outcome for a in by_point[r.id]) == [
        "in_order", "not_applicable", "not_in_order", "not_in_order"
    ]  # fmt: skip
    assert all(resp.position[a.review_id] < 5 for a in by_point[r.id])  # not the draft's
    only_in_order = respondent_answers(
        session, resp, [r.id], where=[ReviewAnswer.outcome == "in_order"]
    )
    assert len(only_in_order[r.id]) == 1
    assert respondent_answers(session, resp, []) == {}
    assert scored_scales(session, []) == set()
    assert r.scale_id not in scored_scales(session)  # yes/no has no scores


def test_scheme_domain_keeps_the_full_sample_in_the_strata(session, org):
    cps = catalogue(session)
    units = [
        SampledCase(org.cw_a1, "sygedagpenge", 0.5, "S1"),
        SampledCase(org.cw_a1, "jobafklaring", 0.25, "S1"),
        SampledCase(org.cw_a1, "sygedagpenge", 0.2, "S1"),
        SampledCase(org.cw_a2, "sygedagpenge", 0.5, "S2"),
        SampledCase(org.cw_a2, "jobafklaring", 0.5, "S2"),
    ]
    draw = make_draw(session, org, units)
    rnd = make_round(
        session, make_plan_row(session, "Plan A", org.unit_a.id), draw, [cps["JOBMAAL-01"]]
    )
    j = cps["JOBMAAL-01"]
    for item, code in zip(items_of(session, draw), ("ja", "ja", "nej", "nej", "ja"), strict=True):
        review(session, org.users["admin"], rnd, item, {j.id: (opt(j, code), "")})
    session.commit()
    [e] = point_estimates(session, [rnd.id], schemes=["sygedagpenge"])
    share, variance = oracle(
        [
            ("S1", F(1, 2), 1),
            ("S1", F(1, 4), None),
            ("S1", F(1, 5), 0),
            ("S2", F(1, 2), 0),
            ("S2", F(1, 2), None),
        ]
    )
    assert share == F(2, 9)  # weights 2, 5, 2 in the domain; in order 2
    assert e.share.estimate == pytest.approx(float(share), abs=1e-12)
    assert e.share.std_error == pytest.approx(math.sqrt(variance), rel=1e-12)
    assert e.answered == 3
    [unit_b] = point_estimates(session, [rnd.id], unit_ids=[org.unit_b.id])
    assert unit_b.answered == 0 and math.isnan(unit_b.share.estimate)


def test_scored_scale_gives_weighted_share_and_mean(session, org):
    cps = catalogue(session)
    units = [
        SampledCase(org.cw_a1, "sygedagpenge", 0.5),
        SampledCase(org.cw_a1, "sygedagpenge", 0.25),
        SampledCase(org.cw_a1, "sygedagpenge", 1.0),
    ]
    draw = make_draw(session, org, units)
    rnd = make_round(
        session, make_plan_row(session, "Plan A", org.unit_a.id), draw, [cps["SAMLET-01"]]
    )
    sa = cps["SAMLET-01"]
    for item, code in zip(items_of(session, draw), ("3", "1", "2"), strict=True):
        review(session, org.users["admin"], rnd, item, {sa.id: (opt(sa, code), "")})
    session.commit()
    [e] = point_estimates(session, [rnd.id])
    # Weights 2, 4, 1 and scores 3, 1, 2: mean (6 + 4 + 2) / 7; in order (2 or 3): 3/7.
    assert e.mean is not None and e.mean.estimate == pytest.approx(12 / 7, abs=1e-12)
    assert e.share.estimate == pytest.approx(3 / 7, abs=1e-12)
    assert e.is_core


def test_comparable_versions_form_one_series_and_a_break_starts_a_new_one(session, org):
    cps = catalogue(session)
    v1 = cps["JOBMAAL-01"]
    admin = org.users["admin"]

    def new_version(point, question, comparable):
        return save_control_point(
            session,
            admin,
            point=point,
            code=point.code,
            theme=point.theme,
            scale=point.scale,
            question=question,
            schemes=point.schemes,
            comparable=comparable,
            change_note="Omformuleret",
        )

    v2 = new_version(v1, "Fremgår et konkret jobmål af planen?", comparable=True)
    v3 = new_version(v2, "Fremgår et konkret og realistisk jobmål af planen?", comparable=False)
    plan = make_plan_row(session, "Plan A", org.unit_a.id)
    rounds = []
    for k, (points, start) in enumerate(
        (([v1], "2026-01-01"), ([v2], "2026-04-01"), ([v3], "2026-07-01"), ([v1, v2], "2026-10-01"))
    ):
        draw = make_draw(
            session,
            org,
            [
                SampledCase(org.cw_a1, "sygedagpenge", 0.5),
                SampledCase(org.cw_a1, "sygedagpenge", 0.5),
            ],
            tag="abcd"[k],
        )
        rnd = make_round(
            session, plan, draw, points, label=f"R{k}", start=date.fromisoformat(start)
        )
        first, second = items_of(session, draw)
        answers = [{p.id: (opt(p, "ja"), "") for p in points} for _ in range(2)]
        if k == 3:
            # Both versions asked of the same cases: the newest version's answer counts.
            answers[0][v2.id] = (opt(v2, "nej"), "")
        review(session, admin, rnd, first, answers[0])
        review(session, admin, rnd, second, answers[1])
        rounds.append(rnd)
    session.commit()
    estimates = {e.round_id: e for e in point_estimates(session, [r.id for r in rounds])}
    assert [estimates[r.id].series_id for r in rounds] == [v1.id, v1.id, v3.id, v1.id]
    assert estimates[rounds[1].id].version == 2 and estimates[rounds[2].id].version == 3
    pooled = estimates[rounds[3].id]
    assert pooled.control_point_ids == (v1.id, v2.id)
    assert (pooled.answered, pooled.in_order) == (2, 1)


def test_theme_weakness_uses_latest_closed_rounds_that_asked_the_theme(session, org):
    cps = catalogue(session)
    j, sa = cps["JOBMAAL-01"], cps["SAMLET-01"]
    plan = make_plan_row(session, "Plan A", org.unit_a.id)
    admin = org.users["admin"]

    def run(label, start, status, answers_per_case, tag):
        draw = make_draw(
            session,
            org,
            [SampledCase(org.cw_a1, "sygedagpenge", 0.5)] * len(answers_per_case),
            tag=tag,
        )
        points = sorted({cps[code] for a in answers_per_case for code in a}, key=lambda p: p.code)
        rnd = make_round(session, plan, draw, points, label=label, start=start)
        for item, codes in zip(items_of(session, draw), answers_per_case, strict=True):
            answers = {cps[c].id: (opt(cps[c], o), "") for c, o in codes.items()}
            review(session, admin, rnd, item, answers)
        rnd.status = status
        return rnd

    # Equal π: the Hájek share is the plain share.
    k1 = [("nej", "1"), ("nej", "2"), ("ja", "3"), ("ja", "3")]
    run(
        "2026-K1",
        date(2026, 1, 1),
        RoundStatus.CLOSED,
        [{"JOBMAAL-01": jm, "SAMLET-01": sl} for jm, sl in k1],
        "a",
    )
    run("2026-K2", date(2026, 4, 1), RoundStatus.CLOSED,
        [{"JOBMAAL-01": "ja"}, {"JOBMAAL-01": "ja"}, {"JOBMAAL-01": "nej"}], "b")  # fmt: skip
    run("2026-K3", date(2026, 7, 1), RoundStatus.IN_REVIEW,
        [{"JOBMAAL-01": "nej"}, {"JOBMAAL-01": "nej"}], "c")  # fmt: skip
    session.commit()
    jobmaal, samlet = j.theme_id, sa.theme_id
    latest = theme_weakness(session, plan.id, 1)
    # JOBMAAL: the last closed round asking it is 2026-K2 (2/3); SAMLET only in 2026-K1 (3/4).
    assert latest == pytest.approx({jobmaal: 2 / 3, samlet: 3 / 4})
    two = theme_weakness(session, plan.id, 2)
    assert two == pytest.approx({jobmaal: 1 / 2, samlet: 3 / 4})
    assert theme_weakness(session, plan.id + 1000, 1) == {}
