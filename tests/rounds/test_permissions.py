"""Row scoping of plans, rounds and draw records, as defined in tilsyn.permissions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_org_snapshot, make_plan, setup_catalogue_and_model
from tilsyn import permissions
from tilsyn.rounds.errors import RoundError
from tilsyn.rounds.models import Round, SupervisionPlan
from tilsyn.rounds.periods import period_containing
from tilsyn.rounds.plans import PlanInput, list_plans, save_plan, visible_rounds
from tilsyn.rounds.rounds import create_round
from tilsyn.sampling.design import DesignParams
from tilsyn.sampling.draw import draw_sample
from tilsyn.sampling.records import visible_items

TODAY = date(2026, 4, 1)


def _plans(session, org):
    setup_catalogue_and_model(session, org)
    own = make_plan(session, org, name="Plan Team A")
    other = make_plan(session, org, name="Plan Team B", unit_id=org.unit_b.id)
    whole = make_plan(session, org, name="Plan hele org", unit_id=None)
    session.commit()
    return own, other, whole


def _visible(session, user):
    return set(
        session.scalars(
            select(SupervisionPlan.name).where(
                permissions.visible_plans_filter(user, SupervisionPlan.unit_id)
            )
        )
    )


def test_plan_scoping_per_role(session, org):
    own, other, whole = _plans(session, org)
    users = org.users
    everything = {own.name, other.name, whole.name}
    assert _visible(session, users["leder"]) == {own.name, whole.name}
    for name in ("admin", "direktoer", "revisor"):
        assert _visible(session, users[name]) == everything
    assert _visible(session, None) == everything  # the system (scheduler, CLI)
    assert _visible(session, users["sagsbehandler"]) == set()

    leader = users["leder"]
    assert permissions.can_see_plan(leader, own) and permissions.can_manage_plan(leader, own)
    assert not permissions.can_see_plan(leader, other)
    assert not permissions.can_manage_plan(leader, other)
    assert permissions.can_see_plan(leader, whole)
    assert not permissions.can_manage_plan(leader, whole)
    assert permissions.can_manage_plan(users["admin"], other)
    assert permissions.can_see_plan(users["direktoer"], other)
    assert not permissions.can_manage_plan(users["direktoer"], other)
    assert not permissions.can_see_plan(users["sagsbehandler"], own)
    assert permissions.can_plan_for_unit(leader, org.unit_a.id)
    assert not permissions.can_plan_for_unit(leader, org.unit_b.id)
    assert not permissions.can_plan_org_wide(leader)
    assert permissions.can_plan_org_wide(users["admin"])
    # The services use the same rules.
    assert {p.name for p in list_plans(session, leader)} == {own.name, whole.name}


def test_team_leader_cannot_see_or_manage_another_units_plan_or_round(session, org, login_as):
    own, other, whole = _plans(session, org)
    period = period_containing("quarterly", date.today())
    rounds = {p.id: create_round(session, None, p, period) for p in (own, other, whole)}
    session.commit()
    client = login_as("leder")
    foreign = rounds[other.id].id
    assert client.get(f"/tilsyn/runder/{foreign}").status_code == 404
    assert client.get(f"/tilsyn/planer/{other.id}").status_code == 404
    assert client.get(f"/tilsyn/planer/{other.id}/ny-runde").status_code == 404
    for action in ("traek", "temaer", "status"):
        assert client.post(f"/tilsyn/runder/{foreign}/{action}").status_code == 404
    # The organisation-wide round can be read but not managed.
    org_round = rounds[whole.id].id
    assert client.get(f"/tilsyn/runder/{org_round}").status_code == 200
    for action in ("traek", "temaer", "status"):
        assert client.post(f"/tilsyn/runder/{org_round}/{action}").status_code == 403
    assert client.get(f"/tilsyn/planer/{whole.id}/ny-runde").status_code == 403
    calendar = client.get("/tilsyn/").get_data(as_text=True)
    assert own.name in calendar and whole.name in calendar and other.name not in calendar
    # The service refuses too, whatever the caller.
    with pytest.raises(RoundError, match="egne enheder"):
        save_plan(
            session,
            org.users["leder"],
            other,
            PlanInput(name=other.name, unit_id=org.unit_b.id, core_theme_ids=[1]),
        )


def test_revisor_reads_every_sampled_case_team_leader_only_own_units(session, org, login_as):
    setup_catalogue_and_model(session, org)
    snapshot = make_org_snapshot(session, org, TODAY)
    draw = draw_sample(
        session,
        org.users["admin"],
        snapshot,
        DesignParams(per_caseworker=2),
        seed=3,
        prior_findings={},
    )
    session.commit()
    everyone = {org.cw_a1.id, org.cw_a2.id, org.cw_b1.id, org.cw_b2.id}

    def caseworkers(user):
        return {i.caseworker_id for i in visible_items(session, user, draw)}

    assert caseworkers(org.users["revisor"]) == everyone
    assert caseworkers(org.users["admin"]) == everyone
    assert caseworkers(None) == everyone
    assert caseworkers(org.users["leder"]) == {org.cw_a1.id, org.cw_a2.id}
    assert caseworkers(org.users["direktoer"]) == set()
    page = login_as("revisor").get(f"/stikproever/{draw.id}").get_data(as_text=True)
    assert all(initials in page for initials in ("AAA", "AAB", "BBA", "BBB"))
    page = login_as("leder").get(f"/stikproever/{draw.id}").get_data(as_text=True)
    assert "AAA" in page and "BBA" not in page
    # Ad hoc draws: an administrator draws from every unit, a team leader from their own.
    assert permissions.draw_unit_scope(org.users["admin"]) is None
    assert permissions.draw_unit_scope(org.users["leder"]) == [org.unit_a.id]
    assert permissions.draw_unit_scope(org.users["revisor"]) == []


def test_visible_rounds_are_the_rounds_of_visible_plans_meeting_the_conditions(session, org):
    own, other, whole = _plans(session, org)
    period = period_containing(own.cadence, TODAY)
    rounds = {p.name: create_round(session, None, p, period) for p in (own, other, whole)}
    session.flush()

    def names(user, *conditions):
        query = visible_rounds(user, *conditions).order_by(SupervisionPlan.name)
        return [rnd.plan.name for rnd in session.scalars(query)]

    assert names(org.users["leder"]) == ["Plan Team A", "Plan hele org"]
    assert names(None) == ["Plan Team A", "Plan Team B", "Plan hele org"]
    assert names(org.users["sagsbehandler"]) == []
    assert names(None, SupervisionPlan.unit_id.is_(None)) == ["Plan hele org"]
    assert names(org.users["leder"], Round.id == rounds["Plan Team B"].id) == []
