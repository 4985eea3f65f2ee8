"""Stikprøver pages and the ``tilsyn sample`` / ``tilsyn risk`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select, text

from tests.factories import PASSWORD, make_population, tamper
from tilsyn.audit.models import AuditEvent
from tilsyn.risk.commands import risk_group
from tilsyn.risk.versions import ensure_default_model
from tilsyn.sampling.commands import sample_group
from tilsyn.sampling.design import DesignParams
from tilsyn.sampling.draw import draw_sample
from tilsyn.sampling.models import Draw
from tilsyn.schemes import SCHEME_NAMES_DA


@pytest.fixture
def population(session, org):
    ensure_default_model(session, org.users["admin"])
    snapshot = make_population(
        session, [(org.cw_a1, 12), (org.cw_a2, 8), (org.cw_b1, 10), (org.cw_b2, 6)]
    )
    session.commit()
    return snapshot


def test_leader_draws_in_own_units_and_sees_only_them(session, org, population, login_as):
    client = login_as("leder")
    form = client.get("/stikproever/ny").get_data(as_text=True)
    assert "Træk stikprøve" in form and "egne teams" in form
    response = client.post(
        "/stikproever/ny",
        data={
            "snapshot_id": population.id,
            "per_caseworker": "2",
            "new_caseworker": "3",
            "new_months": "6",
            "lam": "0,5",
            "seed": "4711",
        },
    )
    assert response.status_code == 302
    draw = session.scalar(select(Draw))
    assert draw.seed == "4711" and draw.params["lam"] == 0.5
    assert {it.caseworker.initials for it in draw.items} == {"AAA", "AAB"}
    assert draw.sample_size == 2 + 3
    page = client.get(f"/stikproever/{draw.id}").get_data(as_text=True)
    assert "4711" in page and draw.items[0].case_ref in page
    assert "systematic-pps-random-order" in page


def test_revisor_sees_record_and_sample_but_cannot_draw(session, org, population, login_as):
    draw = draw_sample(session, org.users["admin"], population, DesignParams(), prior_findings={})
    session.commit()
    client = login_as("revisor")
    assert client.get("/stikproever/ny").status_code == 403
    assert str(draw.id) in client.get("/stikproever/").get_data(as_text=True)
    page = client.get(f"/stikproever/{draw.id}").get_data(as_text=True)
    for it in draw.items:
        assert it.case_ref in page
    assert draw.seed in page and draw.population_sha256 in page
    assert (
        session.scalar(
            select(AuditEvent).where(AuditEvent.action == "view", AuditEvent.object_type == "draw")
        ).actor_name
        == "revisor"
    )
    # Team leader of Team A sees only AAA/AAB's cases.
    leder_page = login_as("leder").get(f"/stikproever/{draw.id}").get_data(as_text=True)
    shown = {it.case_ref for it in draw.items if it.case_ref in leder_page}
    assert shown == {it.case_ref for it in draw.items if it.caseworker.unit_id == org.unit_a.id}
    assert login_as("direktoer").get(f"/stikproever/{draw.id}").status_code == 403


def test_verify_button_and_csv_download(session, org, population, login_as):
    draw = draw_sample(session, None, population, DesignParams(), seed=3, prior_findings={})
    session.commit()
    client = login_as("revisor")
    response = client.post(f"/stikproever/{draw.id}/kontroller", follow_redirects=True)
    assert "Kontrollen er bestået" in response.get_data(as_text=True)
    tamper(
        session,
        "UPDATE draw_items SET risk_score = risk_score + 1 WHERE id = :id",
        {"id": draw.items[0].id},
    )
    response = client.post(f"/stikproever/{draw.id}/kontroller", follow_redirects=True)
    assert "Kontrollen fandt afvigelser" in response.get_data(as_text=True)
    csv_response = client.get(f"/stikproever/{draw.id}/csv")
    assert csv_response.mimetype == "text/csv"
    assert csv_response.mimetype_params["charset"] == "utf-8"
    body = csv_response.get_data(as_text=True)
    assert body.startswith("\ufeffSags-ID;Sagsbehandler;Ordning;Stratum;Risikoscore;")
    assert len(body.strip().splitlines()) == 1 + draw.sample_size


def test_web_csv_is_for_people_and_the_cli_keeps_the_machine_format(app, session, org, population):
    draw = draw_sample(session, None, population, DesignParams(), seed=6, prior_findings={})
    session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    web = client.get(f"/stikproever/{draw.id}/csv").get_data()
    cli = app.test_cli_runner().invoke(sample_group, ["export", str(draw.id)])
    assert cli.exit_code == 0
    machine = cli.stdout_bytes
    assert (
        machine.startswith(b"\xef\xbb\xbfcase_ref;")
        and machine.count(b"\r\n") == 1 + draw.sample_size
    )
    assert web.startswith(b"\xef\xbb\xbfSags-ID;") and web.count(b"\r\n") == 1 + draw.sample_size
    people = [line.split(";") for line in web.decode("utf-8-sig").splitlines()[1:]]
    codes = [line.split(";") for line in machine.decode("utf-8-sig").splitlines()[1:]]
    assert [row[0] for row in people] == [row[0] for row in codes]
    by_ref = {it.case_ref: it for it in draw.items}
    for person_row, code_row in zip(people, codes, strict=True):
        item = by_ref[person_row[0]]
        assert person_row[2] == SCHEME_NAMES_DA[item.scheme] and code_row[2] == item.scheme
        # Rounded with a decimal comma for people; exact in the machine format.
        assert person_row[5] == f"{item.inclusion_probability:.4f}".replace(".", ",")
        assert float(code_row[5].replace(",", ".")) == item.inclusion_probability


def test_draw_page_shows_numpy_version_and_exclusions(session, org, population, login_as):
    refs = session.scalars(
        text("SELECT case_ref FROM cases WHERE caseworker_id = :c"), {"c": org.cw_b2.id}
    ).all()
    draw = draw_sample(
        session,
        None,
        population,
        DesignParams(),
        seed=6,
        exclude_case_refs=refs[:2],
        prior_findings={},
    )
    session.commit()
    client = login_as("revisor")
    page = client.get(f"/stikproever/{draw.id}").get_data(as_text=True)
    assert f"NumPy {np.__version__}" in page and "PCG64" in page
    assert "2 sager udelukket" in page
    assert "populationen uden de udelukkede sager" in page
    assert f"{draw.sample_size} af {draw.population_size} sager" in page
    # the page renders in English too (pgettext and whole-sentence msgids)
    assert client.post("/sprog/en", data={"next": "/"}).status_code == 302
    english = client.get(f"/stikproever/{draw.id}")
    assert english.status_code == 200 and '<html lang="en">' in english.get_data(as_text=True)
    assert client.get("/risiko/").status_code == 200


def test_draw_form_refuses_bad_input_without_storing(session, org, population, login_as):
    client = login_as("admin")
    response = client.post(
        "/stikproever/ny",
        data={
            "snapshot_id": population.id,
            "per_caseworker": "2",
            "new_caseworker": "4",
            "new_months": "6",
            "lam": "meget",
            "seed": "-5",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "λ skal være et tal" in page and "Startværdien skal være et helt tal" in page
    assert session.scalar(select(Draw)) is None


def test_cli_risk_init_show_and_sample_draw_verify_export(app, session, org):
    runner = app.test_cli_runner()
    result = runner.invoke(risk_group, ["show"])
    assert result.exit_code != 0 and "ingen godkendt risikomodel" in result.output
    result = runner.invoke(risk_group, ["init", "--user", "admin"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    result = runner.invoke(risk_group, ["show"])
    assert "SDP_OVER_26_UGER" in result.output and "Hedensted" in result.output
    snapshot = make_population(session, [(org.cw_a1, 10), (org.cw_b2, 10)])
    session.commit()

    args = ["draw", "--snapshot", str(snapshot.id), "--seed", "99", "--lambda", "2", "--json"]
    result = runner.invoke(sample_group, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["seed"] == "99" and out["sample_size"] == 4
    again = json.loads(runner.invoke(sample_group, args).output)
    first = session.get(Draw, out["draw_id"])
    second = session.get(Draw, again["draw_id"])
    assert [i.case_ref for i in first.items] == [i.case_ref for i in second.items]

    result = runner.invoke(sample_group, ["verify", str(out["draw_id"])])
    assert result.exit_code == 0, result.output
    assert f"NumPy ved trækningen: {np.__version__}" in result.output
    assert "bitgenerator: PCG64" in result.output
    result = runner.invoke(sample_group, ["export", str(out["draw_id"])])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("\ufeffcase_ref;") and len(lines) == 5

    tamper(
        session,
        "UPDATE draw_items SET inclusion_probability = 0.123 WHERE draw_id = :d",
        {"d": out["draw_id"]},
    )
    result = runner.invoke(sample_group, ["verify", str(out["draw_id"])])
    assert result.exit_code == 1 and "π" in result.output
    assert runner.invoke(sample_group, ["verify", "9999"]).exit_code != 0
