"""``tilsyn import FILE [--mapping] [--as-of] [--create-caseworkers] [--json]``."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from tests.cases.test_import_service import HEADER, counts, csv_bytes, good_rows, row
from tilsyn.audit.models import AuditEvent
from tilsyn.cases.commands import import_command
from tilsyn.cases.models import Snapshot
from tilsyn.cli import _register_feature_commands, cli


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(import_command, list(args))


def test_registered_on_the_tilsyn_command_line():
    _register_feature_commands()
    assert cli.commands["import"] is import_command


def test_sample_json_with_create_caseworkers(app, session, sample_export):
    result = invoke(
        app, str(sample_export), "--create-caseworkers", "--json", "--as-of", "2026-10-01"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {"snapshot_id", "rows", "caseworkers", "teams"}
    assert (payload["rows"], payload["caseworkers"], payload["teams"]) == (3000, 45, 5)
    snapshot = session.get(Snapshot, payload["snapshot_id"])
    assert snapshot.as_of == date(2026, 10, 1) and snapshot.row_count == 3000
    assert snapshot.imported_by_name.startswith("kommandolinje")


def test_sample_without_flag_refuses_listing_initials(app, session, sample_export):
    before = counts(session)
    result = invoke(app, str(sample_export), "--json")
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    assert len(errors) == 45
    assert all(set(e) == {"row", "column", "reason"} for e in errors)
    assert any("PILA" in e["reason"] for e in errors)
    assert counts(session) == before
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "import_refused"))
    assert refused is not None and refused.details["errors"] == 45


def test_human_summary(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(8)))
    result = invoke(app, str(path))
    assert result.exit_code == 0, result.output
    assert "8 sager, 4 sagsbehandlere, 2 teams" in result.output
    assert session.scalar(select(Snapshot)).as_of == date.today()


def test_refusal_lists_every_error_in_danish(app, session, org, tmp_path):
    rows = good_rows(4)
    rows[0][5] = "i går"
    rows[2][7] = "-3"
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows))
    result = invoke(app, str(path))
    assert result.exit_code == 1
    assert "blev ikke indlæst: 2 fejl" in result.output
    assert "Række 2, kolonne «Sagsstart»" in result.output
    assert "Række 4, kolonne «Samtaler seneste 12 mdr»" in result.output
    assert counts(session)[:2] == (0, 0)

    json_result = invoke(app, str(path), "--json")
    assert json_result.exit_code == 1
    errors = json.loads(json_result.output)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (2, "Sagsstart"),
        (4, "Samtaler seneste 12 mdr"),
    ]


def test_cpr_is_never_echoed(app, session, org, tmp_path):
    rows = good_rows(3)
    rows[1][2] = "311299-4321"
    path = tmp_path / "cpr.csv"
    path.write_bytes(csv_bytes(rows))
    for extra in ((), ("--json",)):
        result = invoke(app, str(path), *extra)
        assert result.exit_code == 1
        assert "311299-4321" not in result.output and "3112994321" not in result.output
        assert "CPR" in result.output.upper()
    assert counts(session)[:2] == (0, 0)


def test_other_mapping_and_bad_arguments(app, session, org, tmp_path):
    fasit_header = [
        "Sagsnummer",
        "Initialer",
        "Sagsbehandler",
        "Afdeling",
        "Ydelse",
        "Startdato",
        "Sidste opfølgningssamtale",
        "Antal samtaler 12 mdr",
        "Næste revurdering",
        "Antal sagsbehandlerskift",
        "Jobmål",
        "CV på Jobnet",
        "Timer pr. uge",
    ]
    assert len(fasit_header) == len(HEADER)
    path = tmp_path / "fasit.csv"
    path.write_bytes(csv_bytes(good_rows(4), header=fasit_header))
    assert invoke(app, str(path), "--json").exit_code == 1  # standard mapping does not fit
    result = invoke(app, str(path), "--mapping", "fasit", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 4
    assert session.scalar(select(Snapshot.mapping_name)) == "fasit"

    unknown = invoke(app, str(path), "--mapping", "findes-ikke", "--json")
    assert unknown.exit_code == 1 and json.loads(unknown.output)["errors"][0]["row"] == 0
    assert invoke(app, str(path), "--as-of", "01-10-2026").exit_code != 0
    assert invoke(app, str(tmp_path / "missing.csv")).exit_code != 0


def test_json_for_bad_arguments(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(2)))
    for args in (
        (str(path), "--as-of", "01-10-2026", "--json"),
        (str(tmp_path / "borger 010190-1234.csv"), "--json"),
        (str(tmp_path), "--json"),
    ):
        result = invoke(app, *args)
        assert result.exit_code != 0
        payload = json.loads(result.output)
        (error,) = payload["errors"]
        assert set(error) == {"row", "column", "reason"} and error["row"] == 0
        assert "010190" not in result.output
    missing = invoke(app, str(tmp_path / "borger 010190-1234.csv"))
    assert missing.exit_code != 0 and "010190" not in missing.output
    assert "borger [cpr fjernet].csv" in missing.output
    assert counts(session)[:2] == (0, 0)


def test_json_lists_errors_up_to_the_cap_and_counts_the_rest(
    app, session, org, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ERRORS", 300)
    rows = [row(ref=f"S-{i:05d}", scheme="Ukendt") for i in range(1_000)]
    path = tmp_path / "many.csv"
    path.write_bytes(csv_bytes(rows))
    result = invoke(app, str(path), "--json")
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    assert len(errors) == 301 and errors[-2]["row"] == 301
    assert errors[-1] == {"row": 0, "column": None, "reason": "Yderligere 700 fejl er ikke vist"}


def test_command_line_imports_are_audited_as_the_snapshot_says(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(3)))
    assert invoke(app, str(path)).exit_code == 0
    snapshot = session.scalar(select(Snapshot))
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert snapshot.imported_by_name.startswith("kommandolinje (")
    assert event.actor_name == snapshot.imported_by_name
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row(start="x")]))
    assert invoke(app, str(bad)).exit_code == 1
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "import_refused"))
    assert refused.actor_name == snapshot.imported_by_name


def test_same_file_again_is_noted_and_allowed(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(3)))
    first = json.loads(invoke(app, str(path), "--json").output)
    again = invoke(app, str(path))
    assert again.exit_code == 0
    assert f"allerede indlæst som sagsudtræk nr. {first['snapshot_id']} den" in again.output
