"""The Kalibrering pages end to end with the test client."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import catalogue, items_of, make_plan_row, make_round, make_user, two_team_draw
from tests.factories import option_id as opt
from tilsyn.quality.models import CalibrationCase, CalibrationResolution
from tilsyn.reviews.recording import save_review


def test_calibration_flow_through_the_pages(session, org, login_as) -> None:
    cps = catalogue(session)
    j, sa = cps["JOBMAAL-01"], cps["SAMLET-01"]
    leder2 = make_user(session, "leder2", "teamleder", units=[org.unit_b])
    plan = make_plan_row(session, "Team A", org.unit_a.id)
    draw = two_team_draw(session, org)
    rnd = make_round(session, plan, draw, [j, sa])
    session.commit()
    a1, a2, _b1 = items_of(session, draw)

    leader = login_as("leder")
    # The team leader turns calibration on for the team's plan: 1 case, leder and leder2.
    response = leader.post(
        f"/kvalitet/kalibrering/planer/{plan.id}",
        data={
            f"plan{plan.id}-active": "y",
            f"plan{plan.id}-cases_per_team": "1",
            f"plan{plan.id}-leaders": [str(org.users["leder"].id), str(leder2.id)],
        },
    )
    assert response.status_code == 302
    index = leader.get("/kvalitet/kalibrering").get_data(as_text=True)
    assert "1 sager pr. team" in index
    assert leader.post(f"/kvalitet/kalibrering/runder/{rnd.id}/udvaelg").status_code == 302
    cases = session.scalars(select(CalibrationCase)).all()
    assert len(cases) == 2  # team A (AAA's two cases) and team B (BBA): one each
    case = next(c for c in cases if c.draw_item_id in (a1.id, a2.id))
    assert case.reviewer_id == leder2.id
    item = a1 if case.draw_item_id == a1.id else a2
    answers = {j.id: (opt(j, "ja"), ""), sa.id: (opt(sa, "2"), "")}
    save_review(session, org.users["leder"], rnd.id, item.id, answers, "", True)
    session.commit()

    # leder2 reviews it blind; leder may not open leder2's review.
    assert leader.get(f"/kvalitet/kalibrering/sager/{case.id}").status_code == 403
    second = login_as("leder2")
    url = f"/kvalitet/kalibrering/sager/{case.id}"
    page = second.get(url).get_data(as_text=True)
    assert "blind" in page and "Første gennemgang:" not in page
    done = second.post(
        url,
        data={
            f"cp_{j.id}": str(opt(j, "nej")),
            f"cp_{sa.id}": str(opt(sa, "2")),
            "complete": "Afslut gennemgang",
        },
    )
    assert done.status_code == 302
    page = second.get(url).get_data(as_text=True)
    assert "Første gennemgang: Ja" in page  # shown once both are completed

    # The round page: agreement and the disagreement; leder resolves it.
    leader = login_as("leder")
    round_page = leader.get(f"/kvalitet/kalibrering/runder/{rnd.id}").get_data(as_text=True)
    assert "Enighed i runden" in round_page and "JOBMAAL-01" in round_page
    assert "Første gennemgang: »Ja«. Anden gennemgang: »Nej«." in round_page
    resolved = leader.post(
        f"/kvalitet/kalibrering/sager/{case.id}/kontrolpunkter/{j.id}?round_id={rnd.id}",
        data={"standing": "second", "reason": "Intet konkret jobmål i planen"},
    )
    assert resolved.status_code == 302
    (resolution,) = session.scalars(select(CalibrationResolution)).all()
    assert resolution.standing == "second"
    round_page = leader.get(f"/kvalitet/kalibrering/runder/{rnd.id}").get_data(as_text=True)
    assert "Intet konkret jobmål i planen" in round_page
    # the auditor reads the agreement, not the case list or the disagreements
    audit_page = (
        login_as("revisor").get(f"/kvalitet/kalibrering/runder/{rnd.id}").get_data(as_text=True)
    )
    assert "Enighed i runden" in audit_page
    assert item.case_ref not in audit_page and "Intet konkret" not in audit_page
