"""The leader's start page: the current round of each plan, what is overdue and what to do next."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import catalogue, items_of, make_plan_row, make_round, two_team_draw
from tests.factories import option_id as opt
from tests.feedback.factories import setup_round
from tilsyn.feedback import actions, release
from tilsyn.feedback.models import FeedbackRelease, PendingNotice


def test_start_page_shows_the_overdue_round_and_the_next_action(session, org, login_as):
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    plan = make_plan_row(session, "Kvartalstilsyn Team A", org.unit_a.id)
    rnd = make_round(session, plan, draw, [cps["JOBMAAL-01"], cps["SAMLET-01"]])
    session.commit()
    a1, a2, _b1 = items_of(session, draw)
    assert rnd.review_deadline < date.today()
    client = login_as("leder")
    page = client.get("/mine-teams").get_data(as_text=True)
    card = page[page.index("Kvartalstilsyn Team A") :]
    assert "Frist overskredet" in card and "dage over fristen" in card
    assert "0 gennemgået · 0 kladder · 2 ikke påbegyndt" in card  # the leader's team only
    review = f"/gennemgang/runder/{rnd.id}/sager/{a1.id}"
    assert re.search(rf'href="{review}">Gennemgå næste sag', card)
    j, s = cps["JOBMAAL-01"], cps["SAMLET-01"]
    for item in (a1, a2):
        client.post(
            f"/gennemgang/runder/{rnd.id}/sager/{item.id}",
            data={
                f"cp_{j.id}": str(opt(j, "ja")),
                f"cp_{s.id}": str(opt(s, "2")),
                f"note_{j.id}": "",
                f"note_{s.id}": "",
                "overall_note": "",
                "complete": "Afslut gennemgang",
            },
        )
    page = client.get("/mine-teams").get_data(as_text=True)
    card = page[page.index("Kvartalstilsyn Team A") :]
    assert "2 gennemgået · 0 kladder · 0 ikke påbegyndt" in card
    # Completed reviews not yet released: the next action is to release the feedback.
    assert re.search(rf'href="/feedback/runder/{rnd.id}">Frigiv feedback', card)
    assert "Afslut runden" not in card
    client.post(f"/feedback/runder/{rnd.id}/frigiv", data={"caseworker_id": ""})
    page = client.get("/mine-teams").get_data(as_text=True)
    card = page[page.index("Kvartalstilsyn Team A") :]
    assert "Frigiv feedback" not in card
    assert re.search(rf'href="/tilsyn/runder/{rnd.id}/afslut">Afslut runden', card)


def _needs(page: str) -> str:
    start = page.index('id="h-needs"')
    return page[start : page.index("</section>", start)]


def test_start_page_lists_what_needs_the_leader(session, org, login_as):
    setup = setup_round(session, org)
    admin = org.users["admin"]
    release.release(session, admin, setup.round.id)
    today = date.today()
    late = actions.create_action(
        session,
        admin,
        setup.reviews[0].id,
        description="SEN-HANDLING registrér jobmålet",
        owner="caseworker",
        due_date=today + timedelta(days=3),
        today=today,
    )
    late.due_date = today - timedelta(days=2)
    actions.create_action(
        session,
        admin,
        setup.reviews[1].id,
        description="RETTIDIG-HANDLING",
        owner="caseworker",
        due_date=today + timedelta(days=10),
        today=today,
    )
    actions.create_action(  # team B: not the leader's
        session,
        admin,
        setup.reviews[2].id,
        description="BBA-HANDLING",
        owner="caseworker",
        due_date=today + timedelta(days=10),
        today=today,
    )
    releases = {r.review_id: r for r in session.scalars(select(FeedbackRelease)).all()}
    old = releases[setup.reviews[0].id]
    old.released_at = old.released_at - timedelta(days=20)
    release.acknowledge(session, org.users["sagsbehandler"], releases[setup.reviews[1].id].id)
    session.add(PendingNotice(user_id=org.users["leder"].id, subject="PÅMINDELSE-TIL-LEDER"))
    session.add(PendingNotice(user_id=org.users["admin"].id, subject="PÅMINDELSE-TIL-ADMIN"))
    session.commit()

    needs = _needs(login_as("leder").get("/mine-teams").get_data(as_text=True))
    assert "SEN-HANDLING" in needs and "RETTIDIG-HANDLING" in needs
    assert "BBA-HANDLING" not in needs
    late_line = needs[needs.index("SEN-HANDLING") :].split("</li>")[0]
    assert "Overskredet" in late_line
    assert "Overskredet" not in needs[needs.index("RETTIDIG-HANDLING") :].split("</li>")[0]
    ack = needs[needs.index("Feedback, som ikke er kvitteret") :]
    assert "(1)" in ack.split("</h3>")[0]  # the acknowledged one and team B's are not listed
    ref = setup.items[0].case_ref
    old_line = ack[ack.index(ref) :].split("</li>")[0]
    assert "frigivet for 20 dage siden" in old_line and "Over 14 dage" in old_line
    assert "PÅMINDELSE-TIL-LEDER" in needs and "PÅMINDELSE-TIL-ADMIN" not in needs


def test_start_page_marks_nothing_when_nothing_waits(session, org, login_as):
    needs = _needs(login_as("leder").get("/mine-teams").get_data(as_text=True))
    assert "Intet venter lige nu." in needs


def test_team_page_links_its_rounds(session, org, login_as):
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    plan_a = make_plan_row(session, "Kvartalstilsyn Team A", org.unit_a.id)
    rnd = make_round(session, plan_a, draw, [cps["JOBMAAL-01"]])
    plan_b = make_plan_row(session, "Kvartalstilsyn Team B", org.unit_b.id)
    other = make_round(session, plan_b, draw, [cps["JOBMAAL-01"]])
    session.commit()
    client = login_as("leder")
    page = client.get(f"/mine-teams/{org.unit_a.id}").get_data(as_text=True)
    assert re.search(
        rf'href="/tilsyn/runder/{rnd.id}">Kvartalstilsyn Team A {rnd.period_label}', page
    )
    assert plan_b.name not in page and f"/tilsyn/runder/{other.id}" not in page
    assert client.get(f"/mine-teams/{org.unit_b.id}").status_code == 403
