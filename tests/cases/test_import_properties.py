"""Property tests: malformed files fed to the import service never raise and never half-write."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cases.test_import_service import HEADER, counts, csv_bytes, good_rows, mapping
from tilsyn.cases import services

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


files = st.one_of(
    malformed_csv(),
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),  # broken "xlsx"
)


def check_import(app, session, content: bytes, suffix: str, create: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fil{suffix}"
        path.write_bytes(content)
        before = counts(session)
        result = services.import_file(
            session,
            None,
            path,
            mapping(app),
            as_of=date(2026, 10, 1),
            filename=path.name,
            create_caseworkers=create,
        )
        if result.ok:
            session.commit()
            after = counts(session)
            assert result.rows > 0
            assert after[0] == before[0] + 1
            assert after[1] == before[1] + result.rows
        else:
            session.rollback()
            assert counts(session) == before
            assert result.snapshot is None
            assert all(isinstance(e.reason, str) and e.reason for e in result.errors)
            text = repr(result.error_dicts()) + repr([e.value for e in result.errors])
            assert "010203-1234" not in text and "0102031234" not in text


@SETTINGS
@given(content=files, suffix=st.sampled_from([".csv", ".xlsx", ".txt", ""]), create=st.booleans())
def test_malformed_files_never_raise_or_half_write(app, session, org, content, suffix, create):
    check_import(app, session, content, suffix, create)


@SETTINGS
@given(content=files)
def test_analysis_never_raises_or_writes(app, session, org, content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fil.csv"
        path.write_bytes(content)
        before = counts(session)
        result = services.analyse_file(session, path, mapping(app), filename=path.name)
        assert result.snapshot is None
        assert counts(session) == before
        assert len(result.preview) <= services.PREVIEW_ROWS
