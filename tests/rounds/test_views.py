"""Plans, calendar and round pages through the web, with role scoping."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.rounds.factories import make_plan, make_snapshot, setup_catalogue_and_model
from tilsyn.rounds import services
from tilsyn.rounds.models import DRAWN, IN_REVIEW, Round, SupervisionPlan
from tilsyn.rounds.periods import period_containing


def test_calendar_shows_themes_with_core_and_rotating_badges(session, org, login_as):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, starts_on=date.today())
    rnd = services.create_round(session, None, plan, period_containing("quarterly", date.today()))
    session.commit()
    core = [rt.theme.name for rt in rnd.themes if rt.is_core]
    rotating = [rt.theme.name for rt in rnd.themes if not rt.is_core]
    page = login_as("direktoer").get("/tilsyn/").get_data(as_text=True)
    assert plan.name in page and rnd.period_label in page
    assert "Fast kerne" in page and "Roterende tema" in page
    assert all(name in page for name in core + rotating)
    assert "Næste" in page and "forventede temaer" in page
    round_page = login_as("revisor").get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert rnd.control_points[0].control_point.code in round_page
    assert "Træk stikprøven" not in round_page  # the auditor cannot manage rounds


def test_team_leader_sees_own_and_org_wide_plans_only(session, org, login_as):
    setup_catalogue_and_model(session, org)
    own = make_plan(session, org, name="Plan Team A")
    other = make_plan(session, org, name="Plan Team B", unit_id=org.unit_b.id)
    whole = make_plan(session, org, name="Plan hele org", unit_id=None)
    rounds = {
        p.id: services.create_round(session, None, p, period_containing("quarterly", date.today()))
        for p in (own, other, whole)
    }
    session.commit()
    client = login_as("leder")
    page = client.get("/tilsyn/planer").get_data(as_text=True)
    assert "Plan Team A" in page and "Plan hele org" in page and "Plan Team B" not in page
    assert client.get(f"/tilsyn/runder/{rounds[other.id].id}").status_code == 404
    assert client.get(f"/tilsyn/runder/{rounds[whole.id].id}").status_code == 200
    # Viewing an org-wide round is allowed, managing it is not.
    assert client.post(f"/tilsyn/runder/{rounds[whole.id].id}/traek").status_code == 403
    assert client.get(f"/tilsyn/planer/{whole.id}").status_code == 403


def test_plan_editor_creates_plan_and_refuses_bad_input(session, org, login_as):
    themes = setup_catalogue_and_model(session, org)
    session.commit()
    core = [t for t in themes.values() if t.is_core]
    rotating = [t for t in themes.values() if not t.is_core][:2]
    client = login_as("leder")
    form = {
        "name": "Kvartal Team A",
        "unit_id": str(org.unit_a.id),
        "cadence": "quarterly",
        "per_caseworker": "2",
        "new_caseworker": "4",
        "new_months": "6",
        "lam": "1",
        "exclude_recent_rounds": "1",
        "rotation_mode": "sequence",
        "rotating_per_round": "1",
        "review_weeks": "6",
        "snapshot_max_age_days": "45",
        "active": "y",
        **{f"theme_{t.id}": "core" for t in core},
        f"theme_{rotating[0].id}": "2",
        f"theme_{rotating[1].id}": "1",
    }
    response = client.post("/tilsyn/planer/ny", data={**form, "unit_id": str(org.unit_b.id)})
    assert response.status_code == 200  # not one of the leader's units: refused
    assert session.scalars(select(SupervisionPlan)).all() == []
    response = client.post("/tilsyn/planer/ny", data={**form, "lam": "-3"})
    assert response.status_code == 200
    assert session.scalars(select(SupervisionPlan)).all() == []
    response = client.post("/tilsyn/planer/ny", data=form)
    assert response.status_code == 302
    plan = session.scalars(select(SupervisionPlan)).one()
    assert {t.id for t in plan.core_themes} == {t.id for t in core}
    assert [t.id for t in plan.rotating_themes] == [rotating[1].id, rotating[0].id]
    assert plan.starts_on == period_containing("quarterly", date.today()).start
    edit_page = client.get(f"/tilsyn/planer/{plan.id}").get_data(as_text=True)
    assert "Kvartal Team A" in edit_page


def test_leader_creates_draws_and_advances_a_round(session, org, login_as):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, starts_on=date.today(), snapshot_max_age_days=400)
    make_snapshot(session, org, date.today())
    session.commit()
    client = login_as("leder")
    label = period_containing("quarterly", date.today()).label
    assert client.get(f"/tilsyn/planer/{plan.id}/ny-runde").status_code == 200
    response = client.post(f"/tilsyn/planer/{plan.id}/ny-runde", data={"period": label})
    assert response.status_code == 302
    rnd = session.scalars(select(Round)).one()
    assert client.post(f"/tilsyn/runder/{rnd.id}/traek", data={}).status_code == 302
    session.expire_all()
    assert rnd.status == DRAWN and rnd.draw_id is not None
    page = client.get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert "AAA" in page and "Udskift stikprøven" in page
    # Replacing without a reason is refused, with a reason it works and keeps history.
    first = rnd.draw_id
    client.post(f"/tilsyn/runder/{rnd.id}/traek", data={"reason": ""})
    session.expire_all()
    assert rnd.draw_id == first
    client.post(f"/tilsyn/runder/{rnd.id}/traek", data={"reason": "Fejl i udtrækket"})
    session.expire_all()
    assert rnd.draw_id != first and len(rnd.draw_history) == 2
    response = client.post(f"/tilsyn/runder/{rnd.id}/status", data={"target": IN_REVIEW})
    assert response.status_code == 302
    session.expire_all()
    assert rnd.status == IN_REVIEW
    response = client.post(f"/tilsyn/runder/{rnd.id}/status", data={"target": "nonsense"})
    assert response.status_code == 302
    session.expire_all()
    assert rnd.status == IN_REVIEW
