"""Hardening of the import (issue 9): formula-safe CSV downloads, downloads built from plain
data, limits on what a file may hold, CPR-like file names, and every preview view audited."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.cases.test_import_service import counts, csv_bytes, good_rows, run_import
from tests.cases.test_import_views import token_of, upload, uploads  # noqa: F401  (fixture)
from tilsyn.audit.models import AuditEvent
from tilsyn.cases import uploads as uploads_module
from tilsyn.cases.importing import pipeline
from tilsyn.cases.importing.parser import parse_all
from tilsyn.cases.importing.records import Limits, ParseReport
from tilsyn.cases.importing.setup import import_mapping, read_options


def _report_lines(client, token: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(f"/sagsudtraek/import/{token}/fejlrapport.csv")
    assert response.status_code == 200
    return str(response.get_data(as_text=True)).lstrip("\ufeff").splitlines()


def test_error_report_neutralises_formulas(login_as, uploads):  # noqa: F811
    rows = good_rows(3)
    rows[0][0] = "=1+1"
    rows[1][0] = "=1+1"  # a duplicate: the report shows the value
    rows[2][0] = "@SUM(1)"
    rows[2][5] = "x"
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    lines = _report_lines(client, token)
    assert any(";'=1+1;" in line for line in lines), lines
    assert not any(";=1+1;" in line or line.startswith("=") for line in lines)


def test_error_report_is_plain_data(app, session, org, tmp_path):
    rows = good_rows(2)
    rows[1][5] = "32-13-2026"
    stored = uploads_module.store_upload(
        tmp_path,
        io.BytesIO(csv_bytes(rows)),
        filename="x.csv",
        mapping_name="standard",
        as_of=date(2026, 10, 1),
        user_id=1,
    )
    uploads_module.analyse_upload(
        session, tmp_path, stored, import_mapping(None, None), **read_options(app.config)
    )
    pending = uploads_module.load_upload(tmp_path, stored.token, 1)
    assert pending is not None and pending.refused
    with app.test_request_context():
        header, body = uploads_module.error_report(pending)
    # Built in full from plain values (no lazy strings, no database objects) before a response
    # is made, so nothing is read while the body is sent.
    assert type(header) is list and all(type(cell) is str for cell in header)
    assert body == [[3, "Sagsstart", "32-13-2026", "Ugyldig dato (forventet dd-mm-åååå)"]]


def test_error_report_download_without_a_chosen_language(login_as, uploads):  # noqa: F811
    client = login_as("admin")
    with client.session_transaction() as browser:
        browser.pop("lang", None)
    rows = good_rows(2)
    rows[1][5] = "32-13-2026"
    token = token_of(upload(client, csv_bytes(rows)))
    lines = _report_lines(client, token)
    assert lines[0] == "Række;Kolonne;Værdi;Fejl" and lines[1].startswith("3;Sagsstart;")


def test_re_viewing_a_preview_is_audited_as_a_view(login_as, session, uploads):  # noqa: F811
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(3))))
    views = (
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import_preview")
    )
    for expected in (1, 2, 3):
        html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
        assert "S-0001" in html  # the page shows case rows
        assert session.scalar(views) == expected


@pytest.mark.parametrize("name", ["010190-1234.csv", "0101901234.xlsx", "kopi 010190-1234.csv"])
def test_a_file_named_like_a_cpr_number_is_refused(login_as, session, uploads, name):  # noqa: F811
    before = counts(session)
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(good_rows(3)), name=name))
    assert not (uploads / token / "upload.bin").exists()
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "Filnavnet ligner et CPR-nummer" in html and "Indlæs sagsudtrækket" not in html
    assert "010190" not in html and "0101901234" not in html
    assert counts(session) == before


def test_too_many_rows_are_refused_early(app, session, org, tmp_path):
    path = tmp_path / "mange.csv"
    path.write_bytes(csv_bytes(good_rows(50)))
    result = run_import(app, session, path, limits=Limits(max_rows=20))
    assert not result.ok and result.snapshot is None
    assert [e.reason for e in result.errors] == [
        "Filen har flere end 20 rækker – del den op, eller bed en administrator hæve grænsen"
    ]
    assert run_import(app, session, path, limits=Limits(max_rows=50)).ok


def test_too_many_columns_are_refused(tmp_path: Path) -> None:
    header = "Sags-ID;Sagsbehandler;Ordning;Sagsstart" + ";x" * 600
    _records, report = parse_all(header.encode(), filename="bred.csv")
    (error,) = report.errors
    assert error.code == "too_many_columns" and error.params["max"] == 500
    assert "flere end 500 kolonner (række 1)" in error.reason


def _zip_bomb(path: Path, unpacked_mb: int) -> Path:
    """An XLSX-shaped archive whose sheet unpacks to ``unpacked_mb`` MB of XML."""
    chunk = b"<row><c><v>1</v></c></row>" * 40_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            written = 0
            while written < unpacked_mb * 1024 * 1024:
                sheet.write(chunk)
                written += len(chunk)
        archive.writestr("[Content_Types].xml", "<Types/>")
    return path


def test_an_xlsx_zip_bomb_is_refused_within_seconds(tmp_path: Path) -> None:
    bomb = _zip_bomb(tmp_path / "bombe.xlsx", 420)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    started = time.perf_counter()
    report = ParseReport()
    _records, report = parse_all(bomb)
    assert time.perf_counter() - started < 5
    (error,) = report.errors
    assert error.code == "too_large_unpacked"
    assert error.reason.startswith("Excel-filen fylder mere end 400 MB udpakket")


def test_limits_come_from_the_configuration(app, monkeypatch) -> None:
    defaults = read_options(app.config)["limits"]
    assert defaults.max_rows >= 200_000 and defaults.max_columns >= 100
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 7)
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNPACKED_MB", 3)
    options = read_options(app.config)
    assert options["limits"].max_rows == 7
    assert options["limits"].max_unpacked_bytes == 3 * 1024 * 1024
    assert options["max_errors"] == app.config["IMPORT_MAX_ERRORS"]


def test_error_cap_says_how_many_more_on_the_page(login_as, uploads, app, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "IMPORT_MAX_ERRORS", 5)
    rows = good_rows(12)
    for r in rows:
        r[4] = "Ukendt"
    client = login_as("admin")
    token = token_of(upload(client, csv_bytes(rows)))
    html = client.get(f"/sagsudtraek/import/{token}").get_data(as_text=True)
    assert "Fejlrapport: 12 fejl" in html
    assert "Yderligere 7 fejl er ikke vist" in html
    lines = _report_lines(client, token)
    assert len(lines) == 1 + 5 + 1 and "Yderligere 7 fejl er ikke vist" in lines[-1]


# --- Who imports, and as of when (issue 9 item 1) -------------------------------------------


def test_a_leader_cannot_import_so_cannot_replace_other_units_data(login_as, session, uploads):  # noqa: F811
    admin = login_as("admin")
    token = token_of(upload(admin, csv_bytes(good_rows(8))))
    assert admin.post(f"/sagsudtraek/import/{token}", data={}).status_code == 302
    before = counts(session)
    leader = login_as("leder")
    assert leader.get("/sagsudtraek/import").status_code == 403
    rows = [r for r in good_rows(8) if r[3] == "Team A"]  # only the leader's own team
    response = upload(leader, csv_bytes(rows))
    assert response.status_code == 403
    assert counts(session) == before  # the population every unit sees and draws is unchanged
    assert "/sagsudtraek/import" not in leader.get("/sagsudtraek/").get_data(as_text=True)
    assert "/sagsudtraek/import" in login_as("admin").get("/sagsudtraek/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("as_of", "code"),
    [(date(2026, 12, 2), "as_of_future"), (date(2025, 9, 30), "as_of_too_old")],
)
def test_an_impossible_as_of_date_is_refused(app, session, org, tmp_path, as_of, code):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(3)))
    today = date(2026, 12, 1)
    before = counts(session)
    result = run_import(app, session, path, as_of=as_of, today=today, max_as_of_age_days=365)
    assert [e.code for e in result.errors] == [code] and result.snapshot is None
    assert counts(session) == before
    # The same file as of a possible date is fine (a year back is the configured limit).
    assert run_import(app, session, path, as_of=today, today=today, max_as_of_age_days=365).ok


def test_the_as_of_limit_is_configured(app, monkeypatch) -> None:
    assert read_options(app.config)["max_as_of_age_days"] == app.config["IMPORT_MAX_AS_OF_AGE_DAYS"]
    monkeypatch.setitem(app.config, "IMPORT_MAX_AS_OF_AGE_DAYS", 30)
    assert read_options(app.config)["max_as_of_age_days"] == 30


def test_cases_starting_after_the_as_of_date_refuse_the_file(app, session, org, tmp_path):
    rows = good_rows(4)
    rows[2][5] = "15-10-2026"
    path = tmp_path / "senere.csv"
    path.write_bytes(csv_bytes(rows))
    before = counts(session)
    result = run_import(app, session, path, as_of=date(2026, 10, 1))
    assert [(e.row, e.column_name, e.value) for e in result.errors] == [
        (4, "Sagsstart", "15-10-2026")
    ]
    assert result.errors[0].reason == "Sagen starter efter udtrækkets dato (01-10-2026)"
    assert counts(session) == before
    analysis = pipeline.analyse_file(
        session, path, import_mapping(None, None), filename="senere.csv", as_of=date(2026, 10, 1)
    )
    assert [e.code for e in analysis.errors] == ["start_after_as_of"]
    assert run_import(app, session, path, as_of=date(2026, 10, 15)).ok


def test_the_command_line_refuses_a_future_as_of_date(app, session, org, tmp_path):
    from tilsyn.cases.commands import import_command

    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(2)))
    args = [str(path), "--as-of", "2999-01-01", "--json", "--create-caseworkers"]
    result = app.test_cli_runner().invoke(import_command, args)
    assert result.exit_code == 1
    assert "ligger i fremtiden" in result.output
