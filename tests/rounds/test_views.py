"""Plans, calendar and round pages through the web, with role scoping."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import (
    catalogue,
    items_of,
    make_org_snapshot,
    make_plan,
    setup_catalogue_and_model,
    two_team_draw,
)
from tests.factories import make_plan_row as make_review_plan
from tests.factories import make_round as make_review_round
from tests.factories import option_id as opt
from tilsyn.reviews import round_pages
from tilsyn.reviews.recording import save_review
from tilsyn.rounds import rounds as rounds_module
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan
from tilsyn.rounds.periods import period_containing
from tilsyn.rounds.rounds import create_round


def test_calendar_shows_themes_with_core_and_rotating_badges(session, org, login_as):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, starts_on=date.today())
    rnd = create_round(session, None, plan, period_containing("quarterly", date.today()))
    session.commit()
    core = [rt.theme.name for rt in rnd.themes if rt.is_core]
    rotating = [rt.theme.name for rt in rnd.themes if not rt.is_core]
    page = login_as("direktoer").get("/tilsyn/").get_data(as_text=True)
    assert plan.name in page and rnd.period_label in page
    assert "Fast kerne" in page and "Roterende tema" in page
    assert core + rotating
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
        p.id: create_round(session, None, p, period_containing("quarterly", date.today()))
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
    make_org_snapshot(session, org, date.today())
    session.commit()
    client = login_as("leder")
    label = period_containing("quarterly", date.today()).label
    assert client.get(f"/tilsyn/planer/{plan.id}/ny-runde").status_code == 200
    response = client.post(f"/tilsyn/planer/{plan.id}/ny-runde", data={"period": label})
    assert response.status_code == 302
    rnd = session.scalars(select(Round)).one()
    assert client.post(f"/tilsyn/runder/{rnd.id}/traek", data={}).status_code == 302
    session.expire_all()
    assert rnd.status == RoundStatus.DRAWN and rnd.draw_id is not None
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
    response = client.post(
        f"/tilsyn/runder/{rnd.id}/status", data={"target": RoundStatus.IN_REVIEW}
    )
    assert response.status_code == 302
    session.expire_all()
    assert rnd.status == RoundStatus.IN_REVIEW
    response = client.post(f"/tilsyn/runder/{rnd.id}/status", data={"target": "nonsense"})
    assert response.status_code == 302
    session.expire_all()
    assert rnd.status == RoundStatus.IN_REVIEW


def test_round_page_shows_both_rankings_when_estimates_are_supplied(
    monkeypatch, session, org, login_as
):
    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, rotating=3, per_round=1, mode="leader_choice")
    period = period_containing("quarterly", date.today())
    rnd = create_round(session, None, plan, period, provisional=True)
    session.commit()
    r = plan.rotating_themes
    client = login_as("leder")
    page = client.get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert "Længst siden stillet" in page and "Svageste seneste resultater" not in page
    assert "foreløbige" in page and "Bekræft temaer" in page
    calls = []

    def weakness(sess, plan_id, last_n_rounds=1, before=None):
        calls.append((plan_id, before))
        return {r[2].id: 0.35, r[0].id: 0.8}

    monkeypatch.setattr(round_pages, "theme_weakness", weakness)
    page = client.get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert calls == [(plan.id, rnd.period_start)]
    assert "Længst siden stillet" in page and "Svageste seneste resultater" in page
    weakest = page.index("Svageste seneste resultater")
    section = page[weakest:]
    assert section.index(r[2].name) < section.index(r[0].name) < section.index(r[1].name)
    assert "Anslået andel i orden: 35 %" in section
    # Confirming the themes ends the provisional state.
    response = client.post(f"/tilsyn/runder/{rnd.id}/temaer", data={"rotating": [str(r[2].id)]})
    assert response.status_code == 302
    session.expire_all()
    assert not rnd.themes_provisional
    assert "foreløbige" not in client.get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)


def test_web_calendar_uses_the_copenhagen_date(session, org, login_as, monkeypatch):
    """23:30 UTC on 31 December is already 1 January in Copenhagen: a new quarter."""
    from datetime import datetime

    from tilsyn import settings

    setup_catalogue_and_model(session, org)
    plan = make_plan(session, org, starts_on=date(2031, 1, 1))
    session.commit()
    monkeypatch.setattr(settings, "utcnow", lambda: datetime(2031, 12, 31, 23, 30))
    client = login_as("leder")
    page = client.get("/tilsyn/").get_data(as_text=True)
    current = page.index("2032-K1")
    assert page.index("Aktuel", current) < page.index("2032-K2")
    assert "2031-K4" not in page  # no round there, and it is no longer current
    form = client.get(f"/tilsyn/planer/{plan.id}/ny-runde").get_data(as_text=True)
    assert '<option selected value="2032-K1">' in form or 'value="2032-K1" selected' in form
    assert "2032-K2" in form and "2032-K3" not in form


def test_hand_made_round_periods_refusal_and_race_with_the_scheduler(
    session, org, login_as, monkeypatch
):
    setup_catalogue_and_model(session, org)
    today = date.today()
    plan = make_plan(session, org, starts_on=date(today.year - 1, 1, 1))
    session.commit()
    client = login_as("leder")
    url = f"/tilsyn/planer/{plan.id}/ny-runde"
    form = client.get(url).get_data(as_text=True)
    last_year_q1 = f"{today.year - 1}-K1"
    assert last_year_q1 in form  # a period that is over can be caught up by hand
    too_early = f"{today.year - 2}-K4"
    response = client.post(url, data={"period": too_early})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "til og med næste periode" in text and too_early in text
    response = client.post(url, data={"period": "nonsense"})
    assert response.status_code == 200 and "ikke en periode" in response.get_data(as_text=True)
    assert session.scalars(select(Round)).all() == []
    response = client.post(url, data={"period": last_year_q1})
    assert response.status_code == 302
    caught_up = session.scalars(select(Round)).one()
    assert caught_up.review_deadline > today  # counted from today, not in the past
    # The scheduler creates the current round just after the leader's page checked for it.
    current = period_containing("quarterly", today)
    create_round(session, None, plan, current)
    session.commit()
    monkeypatch.setattr(rounds_module, "round_for", lambda *args: None)
    monkeypatch.setattr(round_pages, "round_for", lambda *args: None)
    response = client.post(url, data={"period": current.label})
    assert response.status_code == 200
    assert "blev oprettet samtidig" in response.get_data(as_text=True)
    assert len(session.scalars(select(Round)).all()) == 2


def test_plans_page_shows_whole_sentences_and_schemes(session, org, login_as):
    setup_catalogue_and_model(session, org)
    make_plan(session, org, schemes=["fleksjob"], exclude_recent_rounds=2, per_round=2)
    session.commit()
    page = login_as("direktoer").get("/tilsyn/planer").get_data(as_text=True)
    assert "Fast rækkefølge, 2 temaer pr. runde" in page
    assert "Sager fra de seneste 2 runder udelukkes." in page
    assert "Ordninger: Fleksjob." in page


def test_round_page_shows_review_progress_per_caseworker(session, org, login_as):
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    rnd = make_review_round(
        session, make_review_plan(session, "Hele organisationen", None), draw, [cps["JOBMAAL-01"]]
    )
    a1, a2, _b1 = items_of(session, draw)
    jobmaal = cps["JOBMAAL-01"]
    leder = org.users["leder"]
    save_review(session, leder, rnd.id, a1.id, {jobmaal.id: (opt(jobmaal, "ja"), "")}, "", True)
    save_review(session, leder, rnd.id, a2.id, {}, "", False)
    session.commit()

    page = login_as("admin").get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert "1 af 3 udtrukne sager er gennemgået; 1 er påbegyndt." in page
    row = page[page.index(f"{org.cw_a1.initials} – ") :]
    row = row[: row.index("</tr>")]
    cells = [c.split(">")[-1] for c in row.split("</td>")[1:5]]
    assert cells == ["2", "1", "1", "1"]  # sampled, completed, draft, remaining
    # Replacing the draw is on its own page, which warns about the reviews begun.
    assert f"/tilsyn/runder/{rnd.id}/udskift-stikproeve" in page
    replace = login_as("admin").get(f"/tilsyn/runder/{rnd.id}/udskift-stikproeve")
    assert "allerede gennemgået eller påbegyndt" in replace.get_data(as_text=True)
    # The leader sees only the caseworkers of their own unit; the director sees the counts.
    page = login_as("leder").get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert f"{org.cw_a1.initials} – " in page and f"{org.cw_b1.initials} – " not in page
    page = login_as("direktoer").get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    assert f"{org.cw_b1.initials} – " in page and "Åbn sagerne til gennemgang" not in page
