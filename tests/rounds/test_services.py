"""Plans, periods, theme rotation, round creation and drawing."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_org_snapshot, make_plan, setup_catalogue_and_model
from tilsyn.reviews.progress import round_progress
from tilsyn.rounds.errors import RoundError
from tilsyn.rounds.models import Round, RoundStatus
from tilsyn.rounds.periods import (
    next_period,
    period_by_label,
    period_containing,
    previous_period,
)
from tilsyn.rounds.plans import PlanInput, list_plans, save_plan
from tilsyn.rounds.rounds import (
    creatable_periods,
    create_round,
    create_round_by_hand,
    draw_round,
    excluded_case_refs,
    transition,
)
from tilsyn.rounds.themes import set_round_themes, suggest_rotating_themes
from tilsyn.sampling.models import DrawItem


def test_periods():
    q = period_containing("quarterly", date(2026, 5, 17))
    assert (q.label, q.start, q.end) == ("2026-K2", date(2026, 4, 1), date(2026, 6, 30))
    assert previous_period("quarterly", period_containing("quarterly", date(2026, 1, 1))).label == (
        "2025-K4"
    )
    assert next_period("quarterly", q).label == "2026-K3"
    h = period_containing("half-yearly", date(2026, 12, 31))
    assert (h.label, h.start, h.end) == ("2026-H2", date(2026, 7, 1), date(2026, 12, 31))
    y = period_containing("yearly", date(2026, 2, 3))
    assert (y.label, y.start, y.end) == ("2026", date(2026, 1, 1), date(2026, 12, 31))
    assert period_by_label("quarterly", "2026-k4") == period_containing(
        "quarterly", date(2026, 11, 1)
    )
    assert period_by_label("quarterly", "2026-K5") is None
    assert period_by_label("yearly", "abcd") is None
    with pytest.raises(ValueError):
        period_containing("weekly", date(2026, 1, 1))


def test_plan_validation_refuses_bad_input(session, org):
    themes = setup_catalogue_and_model(session, org)
    core = next(t for t in themes.values() if t.is_core)
    base = dict(name="P", unit_id=org.unit_a.id, core_theme_ids=[core.id])
    cases = [
        (dict(name=" "), "navn"),
        (dict(cadence="weekly"), "kadence"),
        (dict(per_caseworker=0), "Sager pr. sagsbehandler"),
        (dict(lam=-1), "λ"),
        (dict(core_theme_ids=[]), "mindst ét tema"),
        (dict(rotating_theme_ids=[core.id]), "både"),
        (dict(unit_id=999999), "Enheden"),
        (dict(schemes=["nope"]), "ordning"),
    ]
    for change, message in cases:
        with pytest.raises(RoundError, match=message):
            save_plan(session, org.users["admin"], None, PlanInput(**{**base, **change}))
    # A team leader cannot make a plan for another unit or the whole organisation.
    for unit_id in (org.unit_b.id, None):
        with pytest.raises(RoundError, match="egne enheder"):
            save_plan(
                session,
                org.users["leder"],
                None,
                PlanInput(**{**base, "unit_id": unit_id}),
            )
    assert list_plans(session, None) == []


def test_sequence_rotation_and_round_control_points(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=3, per_round=1)
    rotation = plan.rotating_themes
    labels = []
    period = period_containing("quarterly", date(2025, 1, 1))
    for _ in range(4):
        rnd = create_round(session, None, plan, period)
        labels.append([rt.theme.code for rt in rnd.themes if not rt.is_core])
        core = {rt.theme_id for rt in rnd.themes if rt.is_core}
        assert core == {t.id for t in plan.core_themes}
        assert (
            rnd.status == RoundStatus.PLANNED
            and rnd.review_deadline == period.start + timedelta(weeks=6)
        )
        # Control points: every active point of the round's themes, core marked.
        theme_ids = {rt.theme_id for rt in rnd.themes}
        assert {rcp.control_point.theme_id for rcp in rnd.control_points} == theme_ids
        assert rnd.control_points
        assert all(
            rcp.is_core == (rcp.control_point.theme_id in core) for rcp in rnd.control_points
        )
        period = next_period("quarterly", period)
    assert labels == [[rotation[i % 3].code] for i in range(4)]
    with pytest.raises(RoundError, match="allerede"):
        create_round(session, None, plan, period_containing("quarterly", date(2025, 1, 1)))


def test_leader_choice_suggests_longest_unasked(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=3, per_round=1, mode="leader_choice")
    r1 = plan.rotating_themes
    period = period_containing("quarterly", date(2025, 1, 1))
    first = create_round(session, None, plan, period, [r1[1].id])
    assert [rt.theme_id for rt in first.themes if not rt.is_core] == [r1[1].id]
    nxt = next_period("quarterly", period)
    suggestions = suggest_rotating_themes(session, plan, nxt.start).primary
    assert [s.theme.id for s in suggestions] == [r1[0].id, r1[2].id, r1[1].id]
    assert suggestions[-1].last_period == "2025-K1" and suggestions[0].last_period is None
    second = create_round(session, None, plan, nxt)
    assert [rt.theme_id for rt in second.themes if not rt.is_core] == [r1[0].id]
    # Changing the themes of a planned round; refused once review started.
    set_round_themes(session, None, second, [r1[2].id])
    assert [rt.theme_id for rt in second.themes if not rt.is_core] == [r1[2].id]
    with pytest.raises(RoundError):
        set_round_themes(session, None, second, [r1[0].id, r1[2].id])
    second.status = RoundStatus.IN_REVIEW
    with pytest.raises(RoundError, match="før gennemgangen"):
        set_round_themes(session, None, second, [r1[0].id])


def test_draw_replace_with_reason_keeps_history_and_excludes_recent(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, exclude_recent_rounds=1, snapshot_max_age_days=120)
    snapshot = make_org_snapshot(session, org, date(2025, 4, 1))
    p1 = period_containing("quarterly", date(2025, 4, 1))
    r1 = create_round(session, org.users["leder"], plan, p1)
    draw1 = draw_round(session, org.users["leder"], r1, seed=1, prior_findings={})
    assert (
        r1.status == RoundStatus.DRAWN and r1.draw_id == draw1.id and r1.snapshot_id == snapshot.id
    )
    items = session.scalars(select(DrawItem).where(DrawItem.draw_id == draw1.id)).all()
    # Only team A's caseworkers (plan for Team A): AAA gets 2, the new AAB gets 3.
    per_cw = {}
    for item in items:
        per_cw[item.caseworker_id] = per_cw.get(item.caseworker_id, 0) + 1
    assert per_cw == {org.cw_a1.id: 2, org.cw_a2.id: 3}
    with pytest.raises(RoundError, match="begrundelse"):
        draw_round(session, org.users["leder"], r1, prior_findings={})
    draw2 = draw_round(
        session, org.users["leder"], r1, reason="Forkert udtræk", seed=2, prior_findings={}
    )
    assert r1.draw_id == draw2.id
    history = r1.draw_history
    assert [h.draw_id for h in history] == [draw1.id, draw2.id]
    assert history[0].replaced_at is not None and history[0].reason == "Forkert udtræk"
    assert history[1].replaced_at is None
    # The next round excludes the cases of the previous round's current draw.
    r2 = create_round(session, None, plan, next_period("quarterly", p1))
    excluded = excluded_case_refs(session, r2)
    assert excluded == {i.case_ref for i in draw2.items}
    draw3 = draw_round(session, None, r2, seed=3, prior_findings={})
    assert not excluded & {i.case_ref for i in draw3.items}
    progress = round_progress(session, r1, org.users["leder"])
    assert {(p.caseworker.initials, p.sampled) for p in progress} == {("AAA", 2), ("AAB", 3)}
    # Status flow.
    with pytest.raises(RoundError):
        transition(session, None, r1, RoundStatus.CLOSED)
    transition(session, None, r1, RoundStatus.IN_REVIEW)
    transition(session, None, r1, RoundStatus.CLOSED)
    assert r1.closed_at is not None
    with pytest.raises(RoundError, match="afsluttet"):
        draw_round(session, None, r1, reason="x", prior_findings={})


def test_draw_refuses_old_snapshot(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, snapshot_max_age_days=30)
    make_org_snapshot(session, org, date(2025, 1, 1))
    rnd = create_round(session, None, plan, period_containing("quarterly", date(2025, 4, 1)))
    with pytest.raises(RoundError, match="nyere udtræk"):
        draw_round(session, None, rnd, prior_findings={})
    assert rnd.draw_id is None
    assert session.scalar(select(func.count(Round.id))) == 1


def _rotating_codes(rnd):
    ordered = sorted(rnd.themes, key=lambda rt: rt.position)
    return [rt.theme.code for rt in ordered if not rt.is_core]


@pytest.mark.parametrize(("themes", "per_round"), [(5, 2), (4, 3), (9, 2)])
def test_sequence_rotation_continues_by_position_across_the_wrap(session, org, themes, per_round):
    """Several themes per round: after a round that wraps round the end of the list, the next
    round continues after the theme it asked last, never repeating one."""
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=themes, per_round=per_round)
    codes = [t.code for t in plan.rotating_themes]
    assert len(codes) == themes
    period = period_containing("quarterly", date(2025, 1, 1))
    asked = []
    for _ in range(themes + 2):
        asked.append(_rotating_codes(create_round(session, None, plan, period)))
        period = next_period("quarterly", period)
    flat = [code for r in asked for code in r]
    assert flat == [codes[i % themes] for i in range(len(flat))]
    for earlier, later in itertools.pairwise(asked):
        assert not set(earlier) & set(later) or themes < 2 * per_round


def test_sequence_rotation_after_a_leader_changed_the_themes(session, org):
    """The rotation continues after the last theme the latest round asked (in its order)."""
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=5, per_round=2)
    r = plan.rotating_themes
    period = period_containing("quarterly", date(2025, 1, 1))
    create_round(session, None, plan, period, [r[4].id, r[0].id])
    nxt = create_round(session, None, plan, next_period("quarterly", period))
    assert _rotating_codes(nxt) == [r[1].code, r[2].code]


def test_suggestions_offer_a_second_ranking_by_weakest_estimates(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=4, per_round=1, mode="leader_choice")
    r = plan.rotating_themes
    period = period_containing("quarterly", date(2025, 1, 1))
    create_round(session, None, plan, period, [r[0].id])
    before = next_period("quarterly", period).start
    only = suggest_rotating_themes(session, plan, before)
    assert [rk.key for rk in only.rankings] == ["recency"]
    recency = [s.theme.id for s in only.primary]
    assert recency == [r[1].id, r[2].id, r[3].id, r[0].id]
    estimates = {r[0].id: 0.9, r[2].id: 0.41, r[3].id: 0.72, 999999: 0.0}
    both = suggest_rotating_themes(session, plan, before, estimates)
    assert [rk.key for rk in both.rankings] == ["recency", "estimates"]
    assert [s.theme.id for s in both.primary] == recency  # the first ranking is unchanged
    weakest = both.rankings[1].items
    # Weakest estimate first; themes without an estimate last, in recency order.
    assert [s.theme.id for s in weakest] == [r[2].id, r[3].id, r[0].id, r[1].id]
    assert [s.estimate for s in weakest] == [0.41, 0.72, 0.9, None]
    assert str(weakest[0].reason) == "Anslået andel i orden: 41 %"
    assert str(weakest[-1].reason) == "Intet skøn endnu"
    # The scheduler's provisional pick follows the first ranking.
    nxt = create_round(session, None, plan, next_period("quarterly", period))
    assert [rt.theme_id for rt in nxt.themes if not rt.is_core] == [r[1].id]


def test_round_control_points_respect_the_plan_schemes(session, org):
    themes = setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=9, per_round=9, schemes=["fleksjob"])
    rnd = create_round(session, None, plan, period_containing("quarterly", date.today()))
    points = [rcp.control_point for rcp in rnd.control_points]
    assert points, "a fleksjob plan still asks the points for every scheme and for fleksjob"
    assert all(not p.schemes or "fleksjob" in p.schemes for p in points)
    assert "SAMLET-01" in {p.code for p in points}  # asked for every scheme
    assert not {p.code for p in points} & {"UARB-03", "FORL-01", "RETTID-04"}  # sygedagpenge
    assert themes["FLEKS"].id in {rt.theme_id for rt in rnd.themes}


def test_hand_made_rounds_any_period_from_plan_start_to_next(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, starts_on=date(2025, 4, 1), review_weeks=6)
    today = date(2026, 2, 10)  # 2026-K1
    leader = org.users["leder"]
    labels = [p.label for p in creatable_periods(session, plan, today)]
    assert labels == ["2026-K2", "2026-K1", "2025-K4", "2025-K3", "2025-K2"]
    for label in ("2026-K3", "2025-K1"):
        with pytest.raises(RoundError, match="til og med næste periode"):
            create_round_by_hand(
                session, leader, plan, period_by_label("quarterly", label), None, today
            )
    # A catch-up of a period that is over: the deadline counts from the creation day.
    old = create_round_by_hand(
        session, leader, plan, period_by_label("quarterly", "2025-K2"), None, today
    )
    assert old.review_deadline == today + timedelta(weeks=6)
    # The current period, created before its normal deadline: the normal deadline.
    cur = create_round_by_hand(
        session, leader, plan, period_by_label("quarterly", "2026-K1"), None, today
    )
    assert cur.review_deadline == date(2026, 1, 1) + timedelta(weeks=6)
    nxt = create_round_by_hand(
        session, leader, plan, period_by_label("quarterly", "2026-K2"), None, today
    )
    assert nxt.review_deadline == date(2026, 4, 1) + timedelta(weeks=6)
    assert [p.label for p in creatable_periods(session, plan, today)] == [
        "2025-K4",
        "2025-K3",
    ]
    other_unit = make_plan(session, org, name="Team B", unit_id=org.unit_b.id)
    with pytest.raises(RoundError, match="denne plan"):
        create_round_by_hand(
            session, leader, other_unit, period_by_label("quarterly", "2026-K1"), None, today
        )
