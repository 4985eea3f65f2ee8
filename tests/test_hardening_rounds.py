"""Findings of the outside probe (issue 9) in rounds, reviews and risk: links the role cannot
open (15), unbounded risk weights (4), lost updates on reviews (2), the draw replacement
race (3)."""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select, update

from tests import factories
from tests.factories import (
    catalogue,
    items_of,
    make_org_snapshot,
    make_plan_row,
    make_population,
    make_round,
    setup_catalogue_and_model,
    two_team_draw,
)
from tests.factories import make_plan as make_round_plan
from tests.factories import option_id as opt
from tilsyn.cases.models import Case
from tilsyn.reviews.models import CaseReview
from tilsyn.risk import versions as risk
from tilsyn.risk.models import RiskModelVersion
from tilsyn.rounds import rounds
from tilsyn.rounds.models import Round, SupervisionPlan
from tilsyn.rounds.periods import period_containing
from tilsyn.rounds.scheduled import due_periods
from tilsyn.sampling.models import Draw


@pytest.mark.parametrize("username", ["admin", "leder", "direktoer", "revisor"])
def test_round_page_shows_only_links_the_role_may_open(session, org, login_as, username):
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    rnd = make_round(
        session, make_plan_row(session, "Hele organisationen", None), draw, [cps["JOBMAAL-01"]]
    )
    session.commit()
    client = login_as(username)
    page = client.get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    main = page[page.index("<main") : page.index("</main>")]
    links = set(re.findall(r'href="(/[^"#]*)"', main))
    assert len(links) >= 2
    for link in sorted(links):
        assert client.get(link).status_code != 403, link
    draw_links = {link for link in links if link.startswith("/stikproever/")}
    if username in ("admin", "revisor"):
        assert f"/stikproever/{draw.id}" in draw_links
    if username == "direktoer":
        assert draw_links == set()


# --- 4: unbounded risk weights -----------------------------------------------------------------


def _edit(version_id, weight):
    return (
        f"/risiko/versioner/{version_id}/rediger",
        {
            "name": "Stor vægt",
            "factors-0-code": "X",
            "factors-0-label": "X",
            "factors-0-attribute": "weeks_open",
            "factors-0-operator": ">",
            "factors-0-value": "3",
            "factors-0-weight": weight,
            "factors-0-rationale": "Fordi",
        },
    )


@pytest.mark.parametrize("weight", ["1e308", "1001", "-1", "inf", "nan"])
def test_risk_weights_out_of_bounds_are_refused(session, org, login_as, weight):
    v1 = risk.ensure_default_model(session, org.users["admin"])
    session.commit()
    url, data = _edit(v1.id, weight)
    response = login_as("admin").post(url, data=data)
    assert response.status_code == 200
    assert "Vægten skal være" in response.get_data(as_text=True)
    assert len(risk.list_versions(session)) == 1
    with pytest.raises(risk.RiskError):
        risk.create_version(
            session, org.users["admin"], v1, [dict(v1.factors[0], weight=float(weight))], "Direkte"
        )


def test_a_stored_model_with_huge_weights_does_not_break_any_page(session, org, login_as):
    v1 = risk.ensure_default_model(session, org.users["admin"])
    snapshot = make_population(session, [(org.cw_a1, 20), (org.cw_b1, 10)])
    session.commit()
    # Stored before the bound existed (bypassing the service and its checks).
    huge = [dict(f, weight=1e308) for f in v1.factors]
    session.execute(
        update(RiskModelVersion.__table__).where(RiskModelVersion.id == v1.id).values(factors=huge)
    )
    session.commit()
    session.expire_all()
    case = session.scalar(select(Case).where(Case.snapshot_id == snapshot.id).limit(1))
    for username in ("admin", "revisor", "direktoer"):
        client = login_as(username)
        for url in ("/risiko/", "/risiko/versioner", f"/risiko/versioner/{v1.id}"):
            response = client.get(url)
            assert response.status_code == 200, (username, url)
    client = login_as("admin")
    assert client.get(f"/risiko/sag/{case.id}").status_code == 200
    response = client.post(
        "/stikproever/ny",
        data={
            "snapshot_id": snapshot.id,
            "per_caseworker": "2",
            "new_caseworker": "3",
            "new_months": "6",
            "lam": "1",
        },
    )
    assert response.status_code in (200, 302)
    if response.status_code == 200:  # refused with a message that says why
        assert "Vægten skal være" in response.get_data(as_text=True)


# --- 2: lost update on reviews ------------------------------------------------------------------


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page
    )
    return match.group(1) if match else ""


def _review_site(session, org):
    cps = catalogue(session)
    draw = two_team_draw(session, org)
    rnd = make_round(
        session,
        make_plan_row(session, "Hele organisationen", None),
        draw,
        [cps["JOBMAAL-01"], cps["SAMLET-01"]],
    )
    session.commit()
    item = items_of(session, draw)[0]
    return cps, rnd, item


def test_a_stale_review_save_is_refused_and_keeps_what_was_typed(app, session, org):
    cps, rnd, item = _review_site(session, org)
    j, sa = cps["JOBMAAL-01"], cps["SAMLET-01"]
    path = f"/gennemgang/runder/{rnd.id}/sager/{item.id}"
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        login = {"username": "leder", "password": factories.PASSWORD}
        assert client.post("/login", data=login).status_code == 302
    page_a = first.get(path).get_data(as_text=True)
    page_b = second.get(path).get_data(as_text=True)  # B opens the same review before A saves
    form_a = {
        "version": _hidden(page_a, "version"),
        f"cp_{j.id}": str(opt(j, "nej")),
        f"note_{j.id}": "A: jobmål mangler",
        f"cp_{sa.id}": str(opt(sa, "2")),
        f"note_{sa.id}": "",
        "overall_note": "A har gennemgået sagen",
    }
    assert first.post(path, data=form_a).status_code == 302
    form_b = {
        "version": _hidden(page_b, "version"),
        f"cp_{j.id}": str(opt(j, "ja")),
        f"note_{j.id}": "B skrev dette",
        f"note_{sa.id}": "",
        "overall_note": "B's samlede bemærkning",
    }
    response = second.post(path, data=form_b)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Gennemgangen er ændret af leder" in page and "Kladden er gemt" not in page
    assert "JOBMAAL-01" in page and "Samlet bemærkning" in page  # what changed
    # Nothing B typed is lost: the form comes back filled with it.
    assert "B skrev dette</textarea>" in page and "B&#39;s samlede bemærkning</textarea>" in page
    assert re.search(rf'value="{opt(j, "ja")}"\s+checked', page)
    session.expire_all()
    review = session.scalar(select(CaseReview).where(CaseReview.draw_item_id == item.id))
    assert review.overall_note == "A har gennemgået sagen"
    assert {a.note for a in review.answers} == {"A: jobmål mangler", ""}
    # Having seen the difference, B saves again on purpose: that save goes through.
    form_b["version"] = _hidden(page, "version")
    assert second.post(path, data=form_b).status_code == 302
    session.expire_all()
    review = session.scalar(select(CaseReview).where(CaseReview.draw_item_id == item.id))
    assert review.overall_note == "B's samlede bemærkning"


# --- 3: the draw replacement race ---------------------------------------------------------------


def _drawable_round(session, org):
    setup_catalogue_and_model(session, org)
    plan = make_round_plan(session, org, starts_on=date.today(), snapshot_max_age_days=400)
    make_org_snapshot(session, org, date.today())
    session.commit()
    return plan


def test_replacing_a_draw_always_needs_a_reason(session, org, login_as):
    plan = _drawable_round(session, org)
    client = login_as("leder")
    label = period_containing("quarterly", date.today()).label
    client.post(f"/tilsyn/planer/{plan.id}/ny-runde", data={"period": label})
    rnd = session.scalars(select(Round)).one()
    page = client.get(f"/tilsyn/runder/{rnd.id}").get_data(as_text=True)
    stale = {"replaces": _hidden(page, "replaces"), "reason": ""}
    assert client.post(f"/tilsyn/runder/{rnd.id}/traek", data=stale).status_code == 302
    session.expire_all()
    first = rnd.draw_id
    assert first is not None
    # The same (stale) form again, as a double click or a second tab would send it.
    response = client.post(f"/tilsyn/runder/{rnd.id}/traek", data=stale, follow_redirects=True)
    assert "Skriv en begrundelse for at udskifte den" in response.get_data(as_text=True)
    session.expire_all()
    assert rnd.draw_id == first and len(rnd.draw_history) == 1
    # With a reason but for a draw that is no longer the current one: refused too.
    response = client.post(
        f"/tilsyn/runder/{rnd.id}/traek",
        data={"replaces": "", "reason": "Fejl"},
        follow_redirects=True,
    )
    assert "allerede trukket" in response.get_data(as_text=True)
    session.expire_all()
    assert rnd.draw_id == first


@pytest.mark.postgresql_only
@pytest.mark.parametrize("reason", ["", "Fejl i udtrækket"])
def test_parallel_draw_submits_give_exactly_one_draw(app, session, org, reason):
    plan = _drawable_round(session, org)
    rnd = rounds.create_round(
        session, org.users["leder"], plan, period_containing("quarterly", date.today())
    )
    session.commit()
    if reason:
        rounds.draw_round(session, org.users["leder"], rnd, prior_findings={})
        session.commit()
    current = rnd.draw_id
    before = session.scalar(select(func.count()).select_from(Draw))
    clients = []
    for _ in range(3):
        client = app.test_client()
        login = {"username": "leder", "password": factories.PASSWORD}
        assert client.post("/login", data=login).status_code == 302
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    errors: list[BaseException] = []
    url = f"/tilsyn/runder/{rnd.id}/traek"

    def submit(client):
        try:
            barrier.wait()
            data = {"replaces": str(current or ""), "reason": reason}
            statuses.append(client.post(url, data=data).status_code)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == [] and statuses == [302, 302, 302]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Draw)) == before + 1
    rnd = session.get(Round, rnd.id)
    assert len(rnd.draw_history) == (2 if reason else 1)
    replaced = [h for h in rnd.draw_history if h.replaced_at is not None]
    assert len(replaced) == (1 if reason else 0) and all(h.reason for h in replaced)


def test_control_characters_in_review_notes_are_refused(session, org, login_as):
    cps, rnd, item = _review_site(session, org)
    j = cps["JOBMAAL-01"]
    path = f"/gennemgang/runder/{rnd.id}/sager/{item.id}"
    client = login_as("leder")
    for data in (
        {f"cp_{j.id}": str(opt(j, "ja")), f"note_{j.id}": "før\x00efter"},
        {f"cp_{j.id}": str(opt(j, "ja")), "overall_note": "samlet\x00"},
    ):
        response = client.post(path, data=data)
        assert response.status_code == 200
        assert "ugyldige kontroltegn" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(CaseReview)) == 0


@pytest.mark.parametrize("start", [date(1, 1, 1), date(9999, 12, 31)])
def test_plans_stored_with_absurd_start_dates_do_not_break_their_pages(
    session, org, login_as, start
):
    plan = _drawable_round(session, org)
    session.execute(
        update(SupervisionPlan.__table__)
        .where(SupervisionPlan.id == plan.id)
        .values(starts_on=start)
    )
    session.commit()
    client = login_as("leder")
    for url in (f"/tilsyn/planer/{plan.id}/ny-runde", f"/tilsyn/planer/{plan.id}", "/tilsyn/"):
        assert client.get(url).status_code == 200, url
    response = client.post(f"/tilsyn/planer/{plan.id}/ny-runde", data={"period": "2026-K1"})
    assert response.status_code in (200, 302)
    session.expire_all()
    plan = session.get(SupervisionPlan, plan.id)
    assert isinstance(due_periods(plan, date.today()), list)  # the scheduler copes too
