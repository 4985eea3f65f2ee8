"""The results pages on the demo: /overblik, /resultater, /rapport, the Excel export."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.results.conftest import DEMO_PASSWORD

CASE_REF = re.compile(r"S-\d{4}-\d{6}")


@pytest.fixture
def as_user(demo_app: Flask) -> Iterator[Callable[[str], FlaskClient]]:
    clients: list[FlaskClient] = []

    def login(username: str) -> FlaskClient:
        client = demo_app.test_client()
        r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 302, username
        clients.append(client)
        return client

    yield login


def _no_inline_script(html: str) -> None:
    scripts = re.findall(r"<script\b[^>]*>", html)
    # A page may have no script at all, so list the offenders rather than all() over them.
    assert [s for s in scripts if "src=" not in s] == [], scripts
    svgs = "".join(re.findall(r"<svg.*?</svg>", html, re.S))
    assert svgs and not re.search(r"\son\w+=|<script|javascript:", svgs)


def test_director_overview_has_trends_and_no_case_refs(as_user) -> None:
    client = as_user("direktoer")
    r = client.get("/overblik")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Kernen 2026-K3" in html  # the latest finished period
    assert html.count('class="sparkline"') >= 10
    assert "markeret ændring" in html  # the demo story's clear improvement
    assert "inden for den statistiske usikkerhed" in html
    assert "Fremdrift i 2026-K4" in html
    assert not CASE_REF.search(html)
    _no_inline_script(html)
    # follow-up actions per team: counts only, equal to the feedback package's figures
    assert "Opfølgningshandlinger pr. team" in html
    table = html[html.index('id="ov-followup"') :]
    cells = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        table,
    )
    assert cells and sum(int(c[1]) for c in cells) > 0  # the demo has open actions
    assert {c[0] for c in cells} >= {"Sygedagpenge Nord", "Sygedagpenge Syd"}


def test_results_page_series_units_table(as_user) -> None:
    client = as_user("direktoer")
    r = client.get("/resultater?kontrolpunkt=JOBMAAL-03&periode=2026-K3")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('role="img"') == 2  # the series and the units chart
    assert "<title" in html and "<desc" in html
    assert "Tallene bag grafen" in html and "Tabelvisning" in html
    assert "Optælling i hele sagsstammen" in html
    assert "markeret ændring" in html
    assert not CASE_REF.search(html)
    _no_inline_script(html)
    # same chart again comes from the cache: identical markup
    again = client.get("/resultater?kontrolpunkt=JOBMAAL-03&periode=2026-K3")
    assert again.get_data(as_text=True).count('role="img"') == 2
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert svgs == re.findall(r"<svg.*?</svg>", again.get_data(as_text=True), re.S)


def test_results_filters_and_bad_input(as_user) -> None:
    client = as_user("direktoer")
    r = client.get("/resultater?enhed=" + "9" * 40 + "&fra=2099&ordning=nope&til=K9")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "findes ikke" in html and "ikke en periode" in html
    r = client.get("/resultater?ordning=sygedagpenge&tema=JOBMAAL")
    assert r.status_code == 200


def test_leader_sees_own_units_only(as_user, demo_app: Flask) -> None:
    client = as_user("leder")
    html = client.get("/resultater").get_data(as_text=True)
    assert "Sygedagpenge Nord" in html
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', html)
    assert set(options) == {"Sygedagpenge Nord", "Sygedagpenge Syd"}
    assert client.get("/overblik").status_code == 403


def test_report_page(as_user) -> None:
    client = as_user("direktoer")
    r = client.get("/rapport/2026-K3")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for text in ("Hvad blev gennemgået", "Markerede ændringer", "Metode", "Risikomodel"):
        assert text in html
    assert 'role="img"' in html
    assert not CASE_REF.search(html)
    # the follow-up status replaces the placeholder; data-answered points show the census
    assert "når opfølgning er taget i brug" not in html
    followup = html[html.index('id="r-followup"') : html.index('id="r-method"')]
    assert "followup-table" in followup and "Sygedagpenge Nord" in followup
    assert "Optælling i hele sagsstammen" in html
    assert re.search(r'<span class="census-share"[^>]*>\d+\s%</span>', html)
    assert client.get("/rapport/ikke-en-periode").status_code == 404
    assert client.get("/rapport/2026-K3?enhed=99999").status_code == 404
    assert client.get("/rapport/2026-K3?enhed=" + "9" * 40).status_code == 404
    assert client.get("/rapport/2026").status_code == 200  # a year collects its quarters


def test_excel_export(as_user) -> None:
    client = as_user("direktoer")
    r = client.get("/resultater/excel?tema=JOBMAAL&fra=2026-K1")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["Resultater", "Metode", "Svar"]
    header = [c.value for c in wb["Resultater"][1]]
    for col in (
        "estimate",
        "std_error",
        "ci_low",
        "ci_high",
        "n",
        "df",
        "provisional",
        "change",
        "flagged",
    ):
        assert col in header
    body = list(wb["Resultater"].iter_rows(min_row=2, values_only=True))
    assert body and {row[0] for row in body} == {"2026-K1", "2026-K2", "2026-K3", "2026-K4"}
    assert "Benjamini" in " ".join(str(c.value) for c in wb["Metode"]["A"])
    answers = [c.value for c in wb["Svar"][1]]
    assert "case_ref" not in answers and "caseworker" not in answers  # the director
    leader = as_user("leder")
    wb = load_workbook(io.BytesIO(leader.get("/resultater/excel").data))
    rows = list(wb["Svar"].iter_rows(values_only=True))
    header = list(rows[0])
    assert "case_ref" in header
    units = {row[header.index("unit")] for row in rows[1:]}
    assert units == {"Sygedagpenge Nord", "Sygedagpenge Syd"}


def test_round_page_shows_round_results(as_user, demo_app: Flask) -> None:
    from sqlalchemy import select

    from tilsyn.extensions import db
    from tilsyn.org.models import Unit
    from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan

    with demo_app.app_context():
        rid = db.session.scalar(
            select(Round.id)
            .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
            .join(Unit, SupervisionPlan.unit_id == Unit.id)
            .where(Round.status == RoundStatus.CLOSED, Unit.name == "Sygedagpenge Nord")
            .order_by(Round.period_start.desc())
        )
    for username in ("leder", "direktoer", "revisor"):
        response = as_user(username).get(f"/tilsyn/runder/{rid}")
        assert response.status_code == 200, username
        html = response.get_data(as_text=True)
        assert "Rundens resultater" in html, username
        assert "Rå andel i stikprøven (uvægtet)" in html
        assert "Gns. score (1–3)" in html
        assert "Optælling i hele sagsstammen" in html
        assert re.search(r'<span class="census-share"[^>]*>\d+\s%</span>', html), username
