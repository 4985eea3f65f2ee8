"""Property tests: malformed files fed to the import service never raise and never half-write."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.cases.test_import_service import HEADER, counts, csv_bytes, good_rows, mapping
from tilsyn.cases.importing import cpr, pipeline
from tilsyn.cases.importing import result as import_result
from tilsyn.cases.models import Case

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

cell_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "31-02-2026",
            "01-01-1900",
            "2026-13-01",
            "-1",
            "12,5,5",
            "99999999",
            "Ja",
            "nej",
            "Måske",
            "Fleksjob",
            "ukendt ordning",
            '"',
            ";",
            "\n",
            "010203-1234",
            "0102031234",
            "x" * 300,
            "AAA",
            "NY1",
            "\x00",
            "\ufeff",
        ]
    ),
)


@st.composite
def malformed_csv(draw: st.DrawFn) -> bytes:
    """A plausible export with random damage: cells, header, rows, encoding, separator."""
    rows = good_rows(draw(st.integers(min_value=0, max_value=8)))
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        if rows:
            r = draw(st.integers(min_value=0, max_value=len(rows) - 1))
            c = draw(st.integers(min_value=0, max_value=len(HEADER) - 1))
            rows[r][c] = draw(cell_text)
    if rows and draw(st.booleans()):
        rows.append(list(rows[0]))  # duplicate case reference
    if rows and draw(st.booleans()):
        rows[-1] = rows[-1][: draw(st.integers(min_value=0, max_value=len(HEADER)))]
    header = list(HEADER)
    if draw(st.booleans()):
        index = draw(st.integers(min_value=0, max_value=len(header) - 1))
        header[index] = draw(st.sampled_from(["", "Sags-ID", "CPR", "Team", "x"]))
    sep = draw(st.sampled_from([";", ";", ",", "\t"]))
    encoding = draw(st.sampled_from(["utf-8-sig", "utf-8", "cp1252", "utf-16"]))
    try:
        return csv_bytes(rows, header=header, encoding=encoding, sep=sep)
    except UnicodeEncodeError:
        return csv_bytes(rows, header=header, encoding="utf-8", sep=sep)


@st.composite
def small_xlsx(draw: st.DrawFn) -> bytes:
    """A small workbook: typed or text cells, random damage, sometimes a second sheet."""
    from openpyxl import Workbook

    rows: list[list[object]] = [list(r) for r in good_rows(draw(st.integers(0, 6)))]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        if rows:
            r = draw(st.integers(min_value=0, max_value=len(rows) - 1))
            c = draw(st.integers(min_value=0, max_value=len(HEADER) - 1))
            rows[r][c] = draw(
                st.one_of(
                    cell_text,
                    st.integers(-5, 200_000),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(),
                    st.dates(),
                    st.none(),
                )
            )
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for values in rows:
        sheet.append(
            [
                "".join(ch for ch in v if ch.isprintable()) if isinstance(v, str) else v
                for v in values
            ]
        )
    if draw(st.booleans()):
        workbook.create_sheet("Noter").append(
            [draw(st.sampled_from(["ok", "0102031234", 102031234]))]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


files = st.one_of(
    malformed_csv(),
    small_xlsx(),
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),  # broken "xlsx"
)


def check_import(
    app, session, content: bytes, suffix: str, create: bool, batch_size: int = 5000
) -> import_result.ImportResult:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fil{suffix}"
        path.write_bytes(content)
        before = counts(session)
        result = pipeline.import_file(
            session,
            None,
            path,
            mapping(app),
            as_of=date(2026, 10, 1),
            filename=path.name,
            create_caseworkers=create,
            batch_size=batch_size,
            max_as_of_age_days=app.config["IMPORT_MAX_AS_OF_AGE_DAYS"],
        )
        if result.ok:
            session.commit()
            after = counts(session)
            assert result.rows > 0
            assert after[0] == before[0] + 1
            assert after[1] == before[1] + result.rows
            assert not result.cpr_found
            stored = session.execute(
                select(Case.case_ref, Case.team_in_file).where(
                    Case.snapshot_id == result.snapshot.id
                )
            ).all()
            assert not any(cpr.looks_like_cpr(str(v)) for r in stored for v in r if v)
        else:
            session.rollback()
            assert counts(session) == before
            assert result.snapshot is None
            assert result.errors
            assert all(isinstance(e.reason, str) and e.reason for e in result.errors)
            text = repr(result.error_dicts()) + repr([e.value for e in result.errors])
            assert "010203-1234" not in text and "0102031234" not in text
        return result


@SETTINGS
@given(
    content=files,
    suffix=st.sampled_from([".csv", ".xlsx", ".txt", ""]),
    create=st.booleans(),
    batch_size=st.sampled_from([1, 2, 3, 5000]),
)
def test_malformed_files_never_raise_or_half_write(
    app, session, org, content, suffix, create, batch_size
):
    # Small batches are written before a later error is found: the rollback must undo them.
    check_import(app, session, content, suffix, create, batch_size)


cpr_numbers = st.builds(
    lambda d, serial, hyphen: d.strftime("%d%m%y") + ("-" if hyphen else "") + f"{serial:04d}",
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 9999),
    st.booleans(),
)


@SETTINGS
@given(
    n=st.integers(min_value=1, max_value=12),
    data=st.data(),
    cpr=cpr_numbers,
    extra_column=st.booleans(),
    kind=st.sampled_from(["csv", "xlsx"]),
    batch_size=st.sampled_from([1, 4, 5000]),
)
def test_any_cpr_like_number_refuses_the_file(
    app, session, org, n, data, cpr, extra_column, kind, batch_size
):
    """If any cell holds a CPR-like number with a valid date, the file is refused."""
    header = [*HEADER, "Note"] if extra_column else list(HEADER)
    rows = [[*r, ""] if extra_column else r for r in good_rows(n)]
    r = data.draw(st.integers(0, n - 1))
    c = data.draw(st.integers(0, len(header) - 1))
    prefix = data.draw(st.sampled_from(["", "Borger ", "tlf. "]))
    rows[r][c] = f"{prefix}{cpr}"
    if kind == "csv":
        content, suffix = csv_bytes(rows, header=header), ".csv"
    else:
        from openpyxl import Workbook

        workbook = Workbook()
        workbook.active.append(header)
        for values in rows:
            workbook.active.append(values)
        buffer = io.BytesIO()
        workbook.save(buffer)
        content, suffix = buffer.getvalue(), ".xlsx"
    result = check_import(app, session, content, suffix, True, batch_size)
    assert not result.ok and result.cpr_found
    assert cpr not in repr(result.error_dicts()) + repr([e.value for e in result.errors])


@SETTINGS
@given(content=files)
def test_analysis_never_raises_or_writes(app, session, org, content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fil.csv"
        path.write_bytes(content)
        before = counts(session)
        result = pipeline.analyse_file(session, path, mapping(app), filename=path.name)
        assert result.snapshot is None
        assert counts(session) == before
        assert len(result.preview) <= import_result.PREVIEW_ROWS
