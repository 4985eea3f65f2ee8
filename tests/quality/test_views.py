"""The Metodekontrol page with the test client."""

from __future__ import annotations

from sqlalchemy import update

from tests.factories import SampledCase, catalogue, items_of, make_draw, make_plan_row, make_round
from tests.factories import option_id as opt
from tilsyn.cases.models import Case
from tilsyn.reviews.recording import save_review
from tilsyn.rounds.models import RoundStatus


def test_method_check_page(session, org, login_as) -> None:
    cps = catalogue(session)
    cv = cps["CV-01"]
    draw = make_draw(
        session,
        org,
        [
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
        ],
    )
    items = items_of(session, draw)
    for item, flag in zip(items, (True, False, True), strict=True):
        session.execute(update(Case).where(Case.id == item.case_id).values(cv_on_jobnet=flag))
    rnd = make_round(session, make_plan_row(session, "Team A", org.unit_a.id), draw, [cv])
    for item, code in zip(items, ("ja", "nej", "ja"), strict=True):
        save_review(
            session, org.users["leder"], rnd.id, item.id, {cv.id: (opt(cv, code), "")}, "", True
        )
    rnd.status = RoundStatus.CLOSED
    session.commit()

    page = login_as("direktoer").get("/kvalitet/metodekontrol").get_data(as_text=True)
    assert "Dækning pr. kontrolpunkt" in page
    assert "Optælling i hele sagsstammen" in page
    # the census: 2 of the 3 cases have a CV on Jobnet; the sample is the whole population
    assert "(2/3)" in page
    assert "Team A 2026-K3" in page
    assert 'id="regler"' in page and "Cv tilgængeligt på Jobnet" in page
    assert "forenelig med 95 %" in page
    assert "Afsluttede runder, du har adgang til: 1." in page
    catalogue_page = login_as("leder").get(f"/kontrolpunkter/{cv.id}").get_data(as_text=True)
    assert (
        "Besvares fra sagsudtræk" in catalogue_page
        and "/kvalitet/metodekontrol#regler" in catalogue_page
    )
