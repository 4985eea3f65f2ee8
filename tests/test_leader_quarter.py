"""The leader's start page: the current round of each plan, what is overdue and what to do next."""

from __future__ import annotations

import re
from datetime import date

from tests.reviews.factories import catalogue, items_of, make_plan, make_round, two_team_draw
from tests.reviews.factories import option_id as opt


def test_start_page_shows_the_overdue_round_and_the_next_action(session, org, login_as):
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    plan = make_plan(session, "Kvartalstilsyn Team A", org.unit_a.id)
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
    assert re.search(rf'href="/tilsyn/runder/{rnd.id}/afslut">Afslut runden', card)
