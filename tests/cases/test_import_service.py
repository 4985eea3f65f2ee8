"""The import service: snapshots, all-or-nothing validation, caseworkers, privacy, formats."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import STANDARD_HEADER
from tilsyn import tabular
from tilsyn.audit.models import AuditEvent
from tilsyn.cases import queries, uploads
from tilsyn.cases.importing import pipeline, setup
from tilsyn.cases.importing import result as import_result
from tilsyn.cases.models import Case, Snapshot, SnapshotIsImmutable
from tilsyn.org.models import Caseworker, Unit

HEADER = STANDARD_HEADER


def row(
    ref: str = "S-1",
    cw: str = "AAA",
    name: str = "Anne Andersen",
    team: str = "Team A",
    scheme: str = "Sygedagpenge",
    start: str = "01-02-2026",
    last: str = "01-03-2026",
    conversations: str = "2",
    due: str = "",
    changes: str = "0",
    goal: str = "Ja",
    cv: str = "Nej",
    hours: str = "",
) -> list[str]:
    return [ref, cw, name, team, scheme, start, last, conversations, due, changes, goal, cv, hours]


def csv_bytes(
    rows: list[list[str]],
    header: list[str] | None = None,
    encoding: str = "utf-8-sig",
    sep: str = ";",
) -> bytes:
    lines = [sep.join(header or HEADER)] + [sep.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def good_rows(n: int = 6) -> list[list[str]]:
    staff = [("AAA", "Team A"), ("AAB", "Team A"), ("BBA", "Team B"), ("BBB", "Team B")]
    out = []
    for i in range(n):
        cw, team = staff[i % len(staff)]
        out.append(
            row(
                ref=f"S-{i + 1:04d}",
                cw=cw,
                name=f"Navn {cw}",
                team=team,
                scheme=("Sygedagpenge", "Fleksjob", "Jobafklaringsforløb")[i % 3],
                hours="12,5" if i % 3 == 1 else "",
                due="01-06-2027" if i % 2 else "",
            )
        )
    return out


def counts(session: Session) -> tuple[int, int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Snapshot)) or 0,
        session.scalar(select(func.count()).select_from(Case)) or 0,
        session.scalar(select(func.count()).select_from(Caseworker)) or 0,
        session.scalar(select(func.count()).select_from(Unit)) or 0,
    )


def mapping(app, name: str | None = None):  # type: ignore[no-untyped-def]
    return setup.import_mapping(name, app.config["MAPPINGS_DIR"])


def run_import(app, session: Session, path: Path, **kwargs) -> import_result.ImportResult:  # type: ignore[no-untyped-def]
    """Import as the view and CLI do: commit on success, roll back on refusal."""
    kwargs.setdefault("as_of", date(2026, 10, 1))
    kwargs.setdefault("filename", path.name)
    kwargs.setdefault("max_as_of_age_days", app.config["IMPORT_MAX_AS_OF_AGE_DAYS"])
    result = pipeline.import_file(
        session, None, path, mapping(app, kwargs.pop("mapping_name", None)), **kwargs
    )
    if result.ok:
        session.commit()
    else:
        session.rollback()
    return result


def snapshot_content(session: Session, snapshot_id: int) -> list[tuple]:
    return [
        tuple(r)
        for r in session.execute(
            select(
                Case.case_ref,
                Caseworker.initials,
                Case.unit_id,
                Case.team_in_file,
                Case.scheme,
                Case.start_date,
                Case.last_conversation,
                Case.conversations_12m,
                Case.reassessment_due,
                Case.caseworker_changes_12m,
                Case.job_goal,
                Case.cv_on_jobnet,
                Case.weekly_hours,
            )
            .join(Caseworker, Case.caseworker_id == Caseworker.id)
            .where(Case.snapshot_id == snapshot_id)
            .order_by(Case.case_ref)
        )
    ]


@pytest.fixture
def sample(sample_export: Path) -> Path:
    return sample_export


def test_sample_with_create_caseworkers(app, session, sample):
    result = run_import(app, session, sample, create_caseworkers=True)
    assert result.ok, result.errors[:3]
    assert (result.rows, result.caseworkers, result.teams) == (3000, 45, 5)
    snap = session.get(Snapshot, result.snapshot.id)
    assert snap.row_count == 3000
    assert snap.source_filename == "sagsudtraek-eksempel.csv"
    assert snap.mapping_name == "standard"
    assert snap.as_of == date(2026, 10, 1)
    assert len(snap.sha256) == 64 and snap.sha256 == import_result.file_sha256(sample)
    assert snap.imported_by_name == "system"
    assert counts(session) == (1, 3000, 45, 5)
    units = set(session.scalars(select(Unit.name)))
    assert "Sygedagpenge Nord" in units and "Fleksjob" in units
    # Every caseworker was placed in the unit named in the file's Team column.
    mismatched = session.scalar(
        select(func.count())
        .select_from(Case)
        .join(Unit, Case.unit_id == Unit.id)
        .where(Case.team_in_file != Unit.name)
    )
    assert mismatched == 0
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import"))
    assert event is not None and event.details["rows"] == 3000
    assert event.details["sha256"] == snap.sha256


def test_unknown_caseworkers_refuse_and_are_listed(app, session, sample):
    before = counts(session)
    result = run_import(app, session, sample)
    assert not result.ok
    unknown_errors = [e for e in result.errors if "findes ikke i tilsyn" in e.reason]
    assert len(unknown_errors) == 45
    assert {e.column_name for e in unknown_errors} == {"Sagsbehandler"}
    assert unknown_errors
    assert all(e.row >= 2 for e in unknown_errors)
    assert counts(session) == before


def test_known_caseworkers_import_without_creation(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(8)))
    result = run_import(app, session, path)
    assert result.ok, result.errors
    assert (result.rows, result.caseworkers, result.teams) == (8, 4, 2)
    content = snapshot_content(session, result.snapshot.id)
    first = content[0]
    assert first[0] == "S-0001" and first[1] == "AAA" and first[2] == org.unit_a.id
    assert first[4] == "sygedagpenge" and first[5] == date(2026, 2, 1)
    assert first[7] == 2 and first[10] is True and first[11] is False
    assert content[1][12] == 12.5


def test_every_bad_row_is_reported_and_nothing_stored(app, session, org, tmp_path):
    rows = good_rows(6)
    rows[1][5] = "31-02-2026"  # impossible date, row 3
    rows[3][7] = "mange"  # not a number, row 5
    rows[4][4] = "Ukendt ordning"  # row 6
    rows.append(row(ref="S-0001", cw="AAA"))  # duplicate case ref, row 8
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows))
    before = counts(session)
    result = run_import(app, session, path)
    assert not result.ok
    rows_reported = {e.row for e in result.errors}
    assert {3, 5, 6, 8} <= rows_reported
    assert result.errors
    assert all(e.reason for e in result.errors)
    columns = {(e.row, e.column_name) for e in result.errors}
    assert (3, "Sagsstart") in columns and (5, "Samtaler seneste 12 mdr") in columns
    assert (8, "Sags-ID") in columns
    assert counts(session) == before


def test_errors_after_inserted_batches_leave_nothing(app, session, org, tmp_path):
    rows = [row(ref=f"S-{i:05d}", cw="AAA") for i in range(1, 40)]
    rows.append(row(ref="S-99999", cw="AAA", start="ikke en dato"))
    path = tmp_path / "late.csv"
    path.write_bytes(csv_bytes(rows))
    before = counts(session)
    result = run_import(app, session, path, batch_size=7)
    assert not result.ok and result.errors[-1].row == 41
    assert counts(session) == before


def test_cpr_file_refused_without_echo(app, session, org, tmp_path):
    rows = good_rows(4)
    rows[2][2] = "Borger 010203-1234"
    path = tmp_path / "cpr.csv"
    path.write_bytes(csv_bytes(rows))
    before = counts(session)
    result = run_import(app, session, path)
    assert not result.ok
    cpr = [e for e in result.errors if "CPR" in e.reason.upper()]
    assert cpr and cpr[0].row == 4 and cpr[0].column_name
    text = repr(result.errors) + repr(result.error_dicts())
    assert "010203-1234" not in text and "0102031234" not in text
    assert counts(session) == before


def test_refusal_is_audited_with_error_count(app, session, org, tmp_path):
    rows = good_rows(3)
    rows[0][5] = "x"
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(rows))
    result = run_import(app, session, path)
    pipeline.record_refused_import(session, None, result)
    session.commit()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import_refused"))
    assert event is not None and event.details["errors"] == len(result.errors) >= 1


def test_unmapped_columns_are_reported_and_not_stored(app, session, org, tmp_path):
    header = [*HEADER, "Borgers navn", "Bemærkning"]
    rows = [[*r, "Hemmelig Borger", "Fortrolig note"] for r in good_rows(2)]
    path = tmp_path / "extra.csv"
    path.write_bytes(csv_bytes(rows, header=header))
    result = run_import(app, session, path)
    assert result.ok
    assert result.ignored_columns == ["Borgers navn", "Bemærkning"]
    stored = repr(snapshot_content(session, result.snapshot.id))
    assert "Hemmelig" not in stored and "Fortrolig" not in stored


def test_dialects_give_the_same_snapshot(app, session, org, tmp_path):
    rows = good_rows(6)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(csv_bytes(rows))
    reference = run_import(app, session, plain)
    assert reference.ok
    expected = [r[:1] + r[2:] for r in snapshot_content(session, reference.snapshot.id)]

    # Windows-1252, reordered columns, stray spaces, blank lines.
    order = [4, 0, 3, 1, 12, 5, 6, 7, 8, 9, 10, 11, 2]
    header = [f"  {HEADER[i]} " for i in order]
    body = [[f" {r[i]} " for i in order] for r in rows]
    lines = [";".join(header), ""] + [";".join(b) for b in body[:3]] + ["", ";;;"]
    lines += [";".join(b) for b in body[3:]] + [""]
    cp1252 = tmp_path / "windows.csv"
    cp1252.write_bytes("\r\n".join(lines).encode("cp1252"))
    other = run_import(app, session, cp1252)
    assert other.ok, other.errors
    got = [r[:1] + r[2:] for r in snapshot_content(session, other.snapshot.id)]
    assert got == expected

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    xlsx = tmp_path / "export.xlsx"
    buffer = io.BytesIO()
    wb.save(buffer)
    xlsx.write_bytes(buffer.getvalue())
    excel = run_import(app, session, xlsx)
    assert excel.ok, excel.errors
    assert [r[:1] + r[2:] for r in snapshot_content(session, excel.snapshot.id)] == expected


def test_later_import_never_alters_earlier_snapshot(app, session, org, tmp_path):
    first_path = tmp_path / "first.csv"
    first_path.write_bytes(csv_bytes(good_rows(4)))
    first = run_import(app, session, first_path)
    before = snapshot_content(session, first.snapshot.id)
    second_path = tmp_path / "second.csv"
    moved = good_rows(6)
    moved[0][1] = "NYX"  # a new caseworker in the second file
    moved[0][3] = "Team Ny"
    second_path.write_bytes(csv_bytes(moved))
    second = run_import(app, session, second_path, create_caseworkers=True)
    assert second is not None and second.ok
    assert second.snapshot.id != first.snapshot.id
    assert snapshot_content(session, first.snapshot.id) == before
    assert session.get(Snapshot, first.snapshot.id).row_count == 4


def test_stored_snapshot_rows_cannot_be_changed(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(2)))
    result = run_import(app, session, path)
    case = session.scalars(select(Case).where(Case.snapshot_id == result.snapshot.id)).first()
    case.scheme = "fleksjob"
    with pytest.raises(SnapshotIsImmutable):
        session.flush()
    session.rollback()
    snap = session.get(Snapshot, result.snapshot.id)
    snap.row_count = 99
    with pytest.raises(SnapshotIsImmutable):
        session.flush()
    session.rollback()


def test_unit_choices_place_new_caseworkers(app, session, org, tmp_path):
    rows = good_rows(4)
    rows[0][1], rows[0][3] = "NYA", "Team Ny"
    rows[1][1], rows[1][3] = "NYB", "Team Ny"
    rows[2][1], rows[2][3] = "NYC", ""
    path = tmp_path / "new.csv"
    path.write_bytes(csv_bytes(rows))
    analysis = pipeline.analyse_file(session, path, mapping(app), filename="new.csv")
    assert analysis.ok
    assert [u.initials for u in analysis.unknown_caseworkers] == ["NYA", "NYB", "NYC"]
    assert analysis.unknown_caseworkers[0].team == "Team Ny"
    assert counts(session)[2] == 4  # the analysis wrote nothing
    result = run_import(
        app, session, path, unit_choices={"NYA": "Team Ny", "NYB": org.unit_b.id, "NYC": "Team Ny"}
    )
    assert result.ok, result.errors
    placed = dict(
        session.execute(
            select(Caseworker.initials, Unit.name)
            .join(Unit)
            .where(Caseworker.initials.in_(["NYA", "NYB", "NYC"]))
        ).all()
    )
    assert placed == {"NYA": "Team Ny", "NYB": "Team B", "NYC": "Team Ny"}
    assert result.created_units == ["Team Ny"]


def test_create_caseworkers_without_team_column_uses_unknown_unit(app, session, tmp_path):
    header = [h for h in HEADER if h != "Team"]
    rows = [[v for i, v in enumerate(r) if i != 3] for r in good_rows(3)]
    path = tmp_path / "noteam.csv"
    path.write_bytes(csv_bytes(rows, header=header))
    result = run_import(app, session, path, create_caseworkers=True)
    assert result.ok, result.errors
    assert set(session.scalars(select(Unit.name))) == {import_result.UNKNOWN_UNIT_NAME}
    assert result.teams == 1


def test_empty_and_header_only_files_are_refused(app, session, org, tmp_path):
    for name, content in (("empty.csv", b""), ("header.csv", csv_bytes([]))):
        path = tmp_path / name
        path.write_bytes(content)
        before = counts(session)
        result = run_import(app, session, path)
        assert not result.ok and result.errors[0].reason
        assert counts(session) == before


def test_missing_required_column_is_reported(app, session, org, tmp_path):
    header = [h for h in HEADER if h != "Sagsstart"]
    rows = [[v for i, v in enumerate(r) if i != 5] for r in good_rows(2)]
    path = tmp_path / "missing.csv"
    path.write_bytes(csv_bytes(rows, header=header))
    result = run_import(app, session, path)
    assert not result.ok
    assert any("Sagsstart" in (e.column_name or "") + e.reason for e in result.errors)


def test_snapshot_detail_counts(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(8)))
    result = run_import(app, session, path)
    detail = queries.snapshot_detail(session, result.snapshot.id)
    assert detail is not None and detail.total == 8
    assert detail.per_team == [("Team A", 2, 4), ("Team B", 2, 4)]
    assert sum(n for _, n in detail.per_scheme) == 8
    assert [(r.initials, r.cases) for r in detail.per_caseworker] == [
        ("AAA", 2),
        ("AAB", 2),
        ("BBA", 2),
        ("BBB", 2),
    ]
    assert (detail.caseload_min, detail.caseload_median, detail.caseload_max) == (2, 2.0, 2)
    rows = queries.list_snapshots(session)
    assert [(r.caseworkers, r.teams) for r in rows] == [(4, 2)]


def test_uploads_are_private_and_removable(tmp_path):
    upload = uploads.store_upload(
        tmp_path,
        io.BytesIO(b"data"),
        filename="C:\\Users\\x\\udtraek.csv",
        mapping_name="standard",
        as_of=date(2026, 10, 1),
        user_id=7,
    )
    assert upload.filename == "udtraek.csv"
    assert uploads.load_upload(tmp_path, upload.token, 7) is not None
    assert uploads.load_upload(tmp_path, upload.token, 8) is None
    assert uploads.load_upload(tmp_path, "../../etc", 7) is None
    uploads.discard_upload(tmp_path, upload.token)
    assert uploads.load_upload(tmp_path, upload.token, 7) is None
    assert not (tmp_path / upload.token).exists()


# --- Duplicates, errors, privacy (audit follow-up) -------------------------------------------


def test_duplicates_in_an_otherwise_valid_file_are_found_in_the_database(
    app, session, org, tmp_path
):
    rows = good_rows(12)
    rows[7][0] = "S-0002"  # row 9 repeats row 3
    rows[10][0] = "S-0002"  # row 12 too
    rows[11][0] = "S-0005"  # row 13 repeats row 6
    path = tmp_path / "dup.csv"
    path.write_bytes(csv_bytes(rows))
    before = counts(session)
    result = run_import(app, session, path, batch_size=4)
    assert not result.ok
    assert [(e.row, e.column_name, e.reason, e.value) for e in result.errors] == [
        (9, "Sags-ID", "Sags-ID findes allerede i række 3", "S-0002"),
        (12, "Sags-ID", "Sags-ID findes allerede i række 3", "S-0002"),
        (13, "Sags-ID", "Sags-ID findes allerede i række 6", "S-0005"),
    ]
    assert counts(session) == before
    analysis = pipeline.analyse_file(session, path, mapping(app), filename="dup.csv")
    assert [e.row for e in analysis.errors] == [9, 12, 13]


def test_duplicates_are_reported_alongside_other_errors(app, session, org, tmp_path):
    rows = good_rows(6)
    rows[1][5] = "ikke en dato"  # row 3, and its case ref is repeated on row 7
    rows[5][0] = "S-0002"
    path = tmp_path / "both.csv"
    path.write_bytes(csv_bytes(rows))
    result = run_import(app, session, path, batch_size=2)
    assert [(e.row, e.column_name) for e in result.errors] == [(3, "Sagsstart"), (7, "Sags-ID")]
    assert result.errors[1].reason == "Sags-ID findes allerede i række 3"


def test_cases_keep_their_file_row(app, session, org, tmp_path):
    rows = good_rows(3)
    path = tmp_path / "rows.csv"
    path.write_bytes(
        ("\r\n" + csv_bytes(rows).decode("utf-8-sig").replace("\r\n", "\r\n\r\n", 1)).encode()
    )
    result = run_import(app, session, path)
    assert result.ok, result.errors
    stored = dict(session.execute(select(Case.case_ref, Case.source_row)).all())
    # A blank line before the header (row 1) and one after it (row 3).
    assert stored == {"S-0001": 4, "S-0002": 5, "S-0003": 6}


def test_errors_beyond_the_cap_are_counted_and_summarised(app, session, org, tmp_path):
    rows = [row(ref=f"S-{i:05d}", scheme="Ukendt") for i in range(1_200)]
    path = tmp_path / "many.csv"
    path.write_bytes(csv_bytes(rows))
    result = run_import(app, session, path, max_errors=500)
    assert result.error_count == 1_200 and len(result.errors) == 500
    assert result.errors_omitted == 700
    assert result.errors[-1].row == 501
    dicts = result.error_dicts()
    assert len(dicts) == 501 and dicts[-1]["reason"] == "Yderligere 700 fejl er ikke vist"
    # The default cap (IMPORT_MAX_ERRORS) keeps ten thousand.
    assert import_result.MAX_ERRORS == app.config["IMPORT_MAX_ERRORS"] == 10_000


def test_cpr_like_file_names_are_scrubbed_and_refused(app, session, org, tmp_path):
    assert import_result.clean_filename("C:\\borgere\\borger 010190-1234.csv") == (
        "borger [cpr fjernet].csv"
    )
    assert import_result.clean_filename("udtraek 2026-10-01 nr 12345678901.csv") == (
        "udtraek 2026-10-01 nr 12345678901.csv"
    )
    before = counts(session)
    for name in ("borger 0101901234.csv", "010190-1234.csv", "0101901234.xlsx"):
        path = tmp_path / name
        path.write_bytes(csv_bytes(good_rows(2)))  # the content is fine: the name refuses it
        for result in (
            run_import(app, session, path),
            pipeline.analyse_file(session, path, mapping(app), filename=name),
        ):
            assert not result.ok and result.cpr_found and result.snapshot is None
            assert [(e.row, e.code) for e in result.errors] == [(0, "cpr_filename")]
            assert "010190" not in result.filename and "0101901234" not in result.filename
        session.rollback()
    assert counts(session) == before
    bad = tmp_path / "borger 010190-1234.csv"
    bad.write_bytes(csv_bytes([row(start="x")]))
    refused = run_import(app, session, bad)
    pipeline.record_refused_import(session, None, refused)
    session.commit()
    summaries = " ".join(session.scalars(select(AuditEvent.summary)))
    details = repr(list(session.scalars(select(AuditEvent.details))))
    for text in (summaries, details):
        assert "010190" not in text and "0101901234" not in text
    assert "Import af borger [cpr fjernet].csv afvist" in summaries


def test_same_file_is_noticed_but_allowed(app, session, org, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes(good_rows(3)))
    first = run_import(app, session, path)
    assert first.same_file == []
    analysis = pipeline.analyse_file(session, path, mapping(app), filename="ok.csv")
    assert [s.id for s in analysis.same_file] == [first.snapshot.id]
    second = run_import(app, session, path)
    assert second.ok and [s.id for s in second.same_file] == [first.snapshot.id]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()[-1]
    assert event.details["same_file_as"] == [first.snapshot.id]


def test_unknown_caseworkers_count_as_errors_when_the_analysis_refuses(app, session, org, tmp_path):
    rows = good_rows(4)
    rows[0][1] = "NYX"
    rows[2][5] = "x"
    path = tmp_path / "mixed.csv"
    path.write_bytes(csv_bytes(rows))
    analysis = pipeline.analyse_file(session, path, mapping(app), filename="mixed.csv")
    result = run_import(app, session, path)
    assert analysis.error_count == result.error_count == 2
    assert [(e.row, e.column_name) for e in analysis.errors] == [
        (2, "Sagsbehandler"),
        (4, "Sagsstart"),
    ]
    assert [u.initials for u in analysis.unknown_caseworkers] == ["NYX"]
    # While the file is otherwise valid, unknown caseworkers are for the user to place.
    rows[2][5] = "01-02-2026"
    path.write_bytes(csv_bytes(rows))
    assert pipeline.analyse_file(session, path, mapping(app), filename="mixed.csv").ok


def test_caseload_median_with_uneven_loads(app, session, org, tmp_path):
    loads = {"AAA": 1, "AAB": 2, "BBA": 7, "BBB": 10}
    rows = []
    for initials, n in loads.items():
        rows += [row(ref=f"{initials}-{i}", cw=initials) for i in range(n)]
    path = tmp_path / "loads.csv"
    path.write_bytes(csv_bytes(rows))
    result = run_import(app, session, path)
    detail = queries.snapshot_detail(session, result.snapshot.id)
    assert (detail.caseload_min, detail.caseload_median, detail.caseload_max) == (1, 4.5, 10)
    assert detail.caseload_mean == 5.0
    rows += [row(ref=f"X-{i}", cw="NYA", team="Team Ny") for i in range(3)]
    path.write_bytes(csv_bytes(rows))
    result = run_import(app, session, path, create_caseworkers=True)
    detail = queries.snapshot_detail(session, result.snapshot.id)
    assert detail.caseload_median == 3.0  # 1, 2, 3, 7, 10


def test_stale_uploads_are_removed_on_every_analysis(app, session, org, tmp_path):
    import os
    import time

    old = uploads.store_upload(
        tmp_path,
        io.BytesIO(csv_bytes(good_rows(2))),
        filename="gammel.csv",
        mapping_name="standard",
        as_of=date(2026, 10, 1),
        user_id=7,
    )
    fresh = uploads.store_upload(
        tmp_path,
        io.BytesIO(csv_bytes(good_rows(2))),
        filename="ny.csv",
        mapping_name="standard",
        as_of=date(2026, 10, 1),
        user_id=7,
    )
    stale = time.time() - uploads.UPLOAD_MAX_AGE_SECONDS - 60
    os.utime(old.path.parent, (stale, stale))
    uploads.analyse_upload(session, tmp_path, fresh, mapping(app), **setup.read_options(app.config))
    assert not old.path.parent.exists()
    assert fresh.path.is_file()


def test_a_refused_upload_keeps_only_its_report(app, session, org, tmp_path):
    rows = good_rows(3)
    rows[1][2] = "Borger 010203-1234"
    rows[2][5] = "32-13-2026"
    upload = uploads.store_upload(
        tmp_path,
        io.BytesIO(csv_bytes(rows)),
        filename="cpr.csv",
        mapping_name="standard",
        as_of=date(2026, 10, 1),
        user_id=7,
    )
    result = uploads.analyse_upload(
        session, tmp_path, upload, mapping(app), **setup.read_options(app.config)
    )
    assert not result.ok and result.cpr_found
    assert not upload.path.exists()
    pending = uploads.load_upload(tmp_path, upload.token, 7)
    assert pending is not None and pending.refused
    report = uploads.stored_report(pending)
    assert [(e.row, e.column_name) for e in report.errors] == [
        (3, "Sagsbehandler navn"),
        (4, "Sagsstart"),
    ]
    with app.test_request_context():
        text = tabular.csv_bytes(*uploads.error_report(pending)).decode("utf-8")
    assert text.startswith("\ufeffRække;Kolonne;Værdi;Fejl\r\n")
    assert "32-13-2026" in text and "CPR" in text
    stored = "".join(p.read_text(encoding="utf-8") for p in upload.path.parent.iterdir())
    assert "010203" not in stored and "0102031234" not in stored
