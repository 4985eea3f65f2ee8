"""The pure parsing layer of the case import: formats, validation, row numbers, CPR guard."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cases.conftest import STANDARD_HEADER, Table, csv_text
from tilsyn.cases.importing.cpr import looks_like_cpr, scrub_cpr
from tilsyn.cases.importing.errors import RowError
from tilsyn.cases.importing.parser import iter_batches, iter_columns, iter_records, parse_all
from tilsyn.cases.importing.records import CaseRecord, ParseReport

WriteCsv = Callable[..., Path]
WriteXlsx = Callable[..., Path]

GOOD_ROW = [
    "S-2026-000001",
    "abc",
    "Anne Bech",
    "Team A",
    "Sygedagpenge",
    "11-06-2026",
    "22-08-2026",
    "2",
    "10-06-2027",
    "0",
    "Nej",
    "Ja",
    "",
]


COLUMN_INDEX = {h.replace(" ", "_").replace("-", "_"): i for i, h in enumerate(STANDARD_HEADER)}


def row_with(**changes: str) -> list[str]:
    """GOOD_ROW with some columns replaced (header name, spaces and hyphens as underscores)."""
    out = list(GOOD_ROW)
    for key, value in changes.items():
        out[COLUMN_INDEX[key]] = value
    return out


def content(records: list[CaseRecord]) -> list[tuple[object, ...]]:
    """Records without their row numbers (for comparing layouts with shifted rows)."""
    return [dataclasses.astuple(dataclasses.replace(r, row=0)) for r in records]


def errors_of(report: ParseReport) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.column_name, e.reason) for e in report.errors]


def shown(report: ParseReport) -> list[tuple[int, str | None, str, str | None]]:
    """Every error as recorded: row, column and reason in Danish, value."""
    return [(e.row, e.column_name, e.reason, e.value) for e in report.errors]


def parse_rows(write_csv: WriteCsv, rows: list[list[str]]) -> tuple[list[CaseRecord], ParseReport]:
    return parse_all(write_csv(STANDARD_HEADER, rows))


# --- The example export -----------------------------------------------------------------------


def test_sample_export_parses_cleanly(sample_path: Path) -> None:
    # The demo generator writes 3,000 open cases of 45 caseworkers (9 in each of 5 teams).
    records, report = parse_all(sample_path)
    assert report.errors == []
    assert len(records) == 3000
    assert report.rows_read == 3000
    assert len({r.caseworker for r in records}) == 45
    assert len({r.team for r in records}) == 5
    assert report.file_kind == "csv"
    assert report.encoding == "utf-8-sig"
    assert report.delimiter == ";"
    assert report.ignored_columns == []
    assert report.missing_required == []
    assert [r.row for r in records] == list(range(2, 3002))
    first = records[0]
    assert first == CaseRecord(
        row=2,
        case_ref="S-2025-000001",
        caseworker="PILA",
        caseworker_name="Pia Larsen",
        team="Sygedagpenge Nord",
        scheme="sygedagpenge",
        start_date=date(2025, 11, 24),
        last_conversation=date(2026, 7, 13),
        conversations_12m=3,
        reassessment_due=date(2026, 4, 27),
        caseworker_changes_12m=0,
        job_goal=False,
        cv_on_jobnet=True,
        weekly_hours=None,
    )
    assert {r.scheme for r in records} == {
        "sygedagpenge",
        "jobafklaring",
        "ressourceforloeb",
        "fleksjob",
        "ledighedsydelse",
        "kontanthjaelp",
    }
    hours = [r.weekly_hours for r in records if r.weekly_hours is not None]
    assert 20.5 in hours and all(0 <= h <= 80 for h in hours)


def test_windows_1252_copy_gives_identical_records(
    sample_path: Path, write_bytes: Callable[[str, bytes], Path]
) -> None:
    text = sample_path.read_bytes().decode("utf-8-sig")
    cp1252 = write_bytes("export-1252.csv", text.encode("cp1252"))
    expected, _ = parse_all(sample_path)
    records, report = parse_all(cp1252)
    assert report.errors == []
    assert report.encoding == "cp1252"
    assert records == expected


def test_utf8_without_bom(sample_path: Path, write_bytes: Callable[[str, bytes], Path]) -> None:
    plain = write_bytes("plain.csv", sample_path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    expected, _ = parse_all(sample_path)
    records, report = parse_all(plain)
    assert report.encoding == "utf-8"
    assert records == expected


def test_layout_variants_give_identical_records(
    sample_table: Table, sample_path: Path, write_csv: WriteCsv
) -> None:
    """Reordered columns, stray spaces in headers and values, blank lines, other separators."""
    header, rows = sample_table
    order = list(reversed(range(len(header))))
    messy_header = [f"  {header[i].lower()} " for i in order]
    messy_header[0] = "Ugentlige   timer"  # internal whitespace is folded
    messy_rows: list[list[str]] = []
    for n, row in enumerate(rows):
        messy_rows.append([f" {row[i]}  " if row[i] else row[i] for i in order])
        if n % 500 == 0:
            messy_rows.append([])  # blank line
            messy_rows.append([""] * len(header))  # separators only
    expected, _ = parse_all(sample_path)
    for delimiter in (";", ",", "\t"):
        path = write_csv(
            messy_header, messy_rows, name=f"messy{ord(delimiter)}.csv", delimiter=delimiter
        )
        records, report = parse_all(path)
        assert report.errors == [], delimiter
        assert report.delimiter == delimiter
        assert content(records) == content(expected)
    # Blank lines count in the row numbering: the first blank line follows data row 2.
    assert records[1].row == 5


def test_lf_line_endings_and_quoted_fields(write_csv: WriteCsv) -> None:
    rows = [row_with(Sagsbehandler_navn='Bæk; "Søren"'), row_with(Sags_ID="S-2")]
    records, report = parse_all(write_csv(STANDARD_HEADER, rows, eol="\n"))
    assert report.errors == []
    assert records[0].caseworker_name == 'Bæk; "Søren"'
    assert [r.row for r in records] == [2, 3]


def test_multiline_quoted_field_keeps_file_row_numbers(write_csv: WriteCsv) -> None:
    rows = [row_with(Team="Team\nA"), row_with(Sags_ID="S-2", Ordning="Nope")]
    records, report = parse_all(write_csv(STANDARD_HEADER, rows))
    assert records[0].team == "Team A"  # internal whitespace folded
    assert errors_of(report) == [(4, "Ordning", "Ukendt ordning")]


# --- XLSX -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dates_as", ["date", "serial", "text"])
def test_xlsx_gives_identical_records(
    sample_table: Table, sample_path: Path, write_xlsx: WriteXlsx, dates_as: str
) -> None:
    header, rows = sample_table
    expected, _ = parse_all(sample_path)
    path = write_xlsx(header, rows, dates_as=dates_as)
    records, report = parse_all(path)
    assert report.errors == []
    assert report.file_kind == "xlsx"
    assert report.delimiter is None
    assert records == expected


def test_xlsx_detected_by_content_and_from_stream(write_xlsx: WriteXlsx) -> None:
    path = write_xlsx(STANDARD_HEADER, [GOOD_ROW])
    data = path.read_bytes()
    by_bytes, report = parse_all(data)
    assert report.file_kind == "xlsx" and report.errors == []
    with path.open("rb") as fh:
        by_stream, report = parse_all(fh, filename="upload.xlsx")
        assert not fh.closed
    assert by_bytes == by_stream and len(by_bytes) == 1
    nonseekable, report = parse_all(NonSeekable(data))
    assert nonseekable == by_bytes


def test_xlsx_row_numbers_are_sheet_rows(write_xlsx: WriteXlsx) -> None:
    rows = [GOOD_ROW, row_with(Sags_ID="S-2", Sagsstart="31-02-2026")]
    path = write_xlsx(
        STANDARD_HEADER, rows, dates_as="text", leading=[["Udtræk pr. 1-10-2026"], []]
    )
    records, report = parse_all(path)
    # Title on row 1, blank row 2, header row 3, data from row 4.
    assert [r.row for r in records] == [4]
    assert errors_of(report) == [(5, "Sagsstart", "Ugyldig dato (forventet dd-mm-åååå)")]


def test_xlsx_typed_cell_errors(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(STANDARD_HEADER)
    sheet.append(
        ["S-1", "ab", None, None, "Fleksjob", date(1980, 1, 1), 2.5, -1, None, 1.0, True, 3, 90]
    )
    sheet.append([12345, "ab", None, None, "Fleksjob", 46000, None, 3.0, None, None, 1, 0, 7.5])
    path = tmp_path / "typed.xlsx"
    workbook.save(path)
    records, report = parse_all(path)
    assert errors_of(report) == [
        (2, "Sagsstart", "Usandsynligt årstal (forventet mellem 1990 og 2100)"),
        (2, "Seneste samtale", "Usandsynligt årstal (forventet mellem 1990 og 2100)"),
        (2, "Samtaler seneste 12 mdr", "Må ikke være negativ"),
        (2, "Cv på Jobnet", "Ugyldig ja/nej-værdi (forventet Ja eller Nej)"),
        (2, "Ugentlige timer", "Ugentlige timer skal være mellem 0 og 80"),
    ]
    (record,) = records
    assert record.case_ref == "12345"
    assert record.start_date == date(2025, 12, 9)  # serial 46000
    assert record.conversations_12m == 3
    assert (record.job_goal, record.cv_on_jobnet, record.weekly_hours) == (True, False, 7.5)


# --- Values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11-06-2026", date(2026, 6, 11)),
        ("1-6-2026", date(2026, 6, 1)),
        ("11.06.2026", date(2026, 6, 11)),
        ("11/06/2026", date(2026, 6, 11)),
        ("2026-06-11", date(2026, 6, 11)),
        ("2026-06-11 00:00:00", date(2026, 6, 11)),
        ("29-02-2028", date(2028, 2, 29)),
    ],
)
def test_date_formats(write_csv: WriteCsv, text: str, expected: date) -> None:
    records, report = parse_rows(write_csv, [row_with(Sagsstart=text)])
    assert report.errors == []
    assert records[0].start_date == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31-02-2026", "Ugyldig dato (forventet dd-mm-åååå)"),
        ("29-02-2027", "Ugyldig dato (forventet dd-mm-åååå)"),
        ("11-13-2026", "Ugyldig dato (forventet dd-mm-åååå)"),
        ("11-06-26", "Ugyldig dato (forventet dd-mm-åååå)"),
        ("11-06.2026", "Ugyldig dato (forventet dd-mm-åååå)"),
        ("i går", "Ugyldig dato (forventet dd-mm-åååå)"),
        ("01-01-1989", "Usandsynligt årstal (forventet mellem 1990 og 2100)"),
        ("01-01-2101", "Usandsynligt årstal (forventet mellem 1990 og 2100)"),
    ],
)
def test_bad_dates(write_csv: WriteCsv, text: str, reason: str) -> None:
    records, report = parse_rows(write_csv, [row_with(Seneste_samtale=text)])
    assert records == []
    assert shown(report) == [(2, "Seneste samtale", reason, text)]


@pytest.mark.parametrize(
    ("text", "expected"), [("3", 3), (" 3 ", 3), ("3,0", 3), ("3.0", 3), ("0", 0), ("", None)]
)
def test_integers(write_csv: WriteCsv, text: str, expected: int | None) -> None:
    records, report = parse_rows(write_csv, [row_with(Samtaler_seneste_12_mdr=text)])
    assert report.errors == []
    assert records[0].conversations_12m == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tre", "Ikke et helt tal"),
        ("3,5", "Ikke et helt tal"),
        ("-1", "Må ikke være negativ"),
        ("٣", "Ikke et helt tal"),
        ("99999", "Urealistisk stort tal (højst 10000)"),
    ],
)
def test_bad_integers(write_csv: WriteCsv, text: str, reason: str) -> None:
    _, report = parse_rows(write_csv, [row_with(Sagsbehandlerskift_12_mdr=text)])
    assert errors_of(report) == [(2, "Sagsbehandlerskift 12 mdr", reason)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8,5", 8.5), ("8.5", 8.5), ("37", 37.0), ("0", 0.0), ("80", 80.0), (" 12,25 ", 12.25)],
)
def test_decimals(write_csv: WriteCsv, text: str, expected: float) -> None:
    records, report = parse_rows(write_csv, [row_with(Ugentlige_timer=text)])
    assert report.errors == []
    assert records[0].weekly_hours == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("otte", "Ikke et gyldigt tal (forventet fx 8,5)"),
        ("1.000,5", "Ikke et gyldigt tal (forventet fx 8,5)"),
        ("nan", "Ikke et gyldigt tal (forventet fx 8,5)"),
        ("80,5", "Ugentlige timer skal være mellem 0 og 80"),
        ("-2,5", "Må ikke være negativ"),
    ],
)
def test_bad_decimals(write_csv: WriteCsv, text: str, reason: str) -> None:
    _, report = parse_rows(write_csv, [row_with(Ugentlige_timer=text)])
    assert errors_of(report) == [(2, "Ugentlige timer", reason)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ja", True),
        ("ja", True),
        ("J", True),
        ("1", True),
        ("Sand", True),
        ("TRUE", True),
        ("yes", True),
        ("Nej", False),
        ("n", False),
        ("0", False),
        ("Falsk", False),
        ("false", False),
        ("No", False),
        ("", None),
    ],
)
def test_booleans(write_csv: WriteCsv, text: str, expected: bool | None) -> None:
    records, report = parse_rows(write_csv, [row_with(Jobmål_registreret=text)])
    assert report.errors == []
    assert records[0].job_goal is expected


def test_text_fields_are_cleaned(write_csv: WriteCsv) -> None:
    rows = [row_with(Sagsbehandler=" øbæ ", Team="  Team   Nord ", Ordning="kontanthjælp")]
    records, report = parse_rows(write_csv, rows)
    assert report.errors == []
    (record,) = records
    assert (record.caseworker, record.team, record.scheme) == ("ØBÆ", "Team Nord", "kontanthjaelp")


def test_scheme_codes_and_labels(write_csv: WriteCsv) -> None:
    rows = [
        row_with(Sags_ID="S-1", Ordning="jobafklaring"),
        row_with(Sags_ID="S-2", Ordning="JOBAFKLARINGSFORLØB"),
        row_with(Sags_ID="S-3", Ordning="Uddannelseshjælp"),
    ]
    records, report = parse_rows(write_csv, rows)
    assert [r.scheme for r in records] == ["jobafklaring", "jobafklaring"]
    assert shown(report) == [(4, "Ordning", "Ukendt ordning", "Uddannelseshjælp")]


# --- Errors -----------------------------------------------------------------------------------


def test_every_error_is_reported_with_file_row_numbers(write_csv: WriteCsv) -> None:
    rows = [
        row_with(Sags_ID="S-1"),  # row 2: fine
        row_with(Sags_ID="S-2", Sagsstart="31-02-2026", Samtaler_seneste_12_mdr="tre"),  # 3
        [],  # row 4: blank line
        row_with(Sags_ID="S-3", Sagsbehandler=""),  # row 5
        row_with(Sags_ID="S-4"),  # row 6: fine
        row_with(Sags_ID="S-5", Ordning="Pension", Cv_på_Jobnet="måske"),  # row 7
        row_with(Sags_ID="S-6")[:10],  # row 8: too few fields
        row_with(Sags_ID="S-1"),  # row 9: duplicate of row 2
        [*row_with(Sags_ID="S-7"), "ekstra"],  # row 10: too many fields
        [*row_with(Sags_ID="S-8"), ""],  # row 11: a trailing empty field is tolerated
        row_with(Sags_ID="", Ugentlige_timer="-3"),  # row 12
    ]
    records, report = parse_rows(write_csv, rows)
    assert [r.case_ref for r in records] == ["S-1", "S-4", "S-8"]
    assert [r.row for r in records] == [2, 6, 11]
    assert errors_of(report) == [
        (3, "Sagsstart", "Ugyldig dato (forventet dd-mm-åååå)"),
        (3, "Samtaler seneste 12 mdr", "Ikke et helt tal"),
        (5, "Sagsbehandler", "Mangler værdi i påkrævet kolonne"),
        (7, "Ordning", "Ukendt ordning"),
        (7, "Cv på Jobnet", "Ugyldig ja/nej-værdi (forventet Ja eller Nej)"),
        (8, None, "Forkert antal felter i rækken (forventet 13, fandt 10)"),
        (9, "Sags-ID", "Sags-ID findes allerede i række 2"),
        (10, None, "Forkert antal felter i rækken (forventet 13, fandt 14)"),
        (12, "Sags-ID", "Mangler værdi i påkrævet kolonne"),
        (12, "Ugentlige timer", "Må ikke være negativ"),
    ]
    assert report.rows_read == 10
    values = {(e.row, e.column_name): e.value for e in report.errors}
    assert values[(3, "Sagsstart")] == "31-02-2026"
    assert values[(9, "Sags-ID")] == "S-1"
    assert values[(5, "Sagsbehandler")] is None


def test_long_values_are_shortened_in_errors(write_csv: WriteCsv) -> None:
    _, report = parse_rows(write_csv, [row_with(Ordning="x" * 200)])
    (error,) = report.errors
    assert error.value is not None and len(error.value) == 40 and error.value.endswith("…")


def test_too_long_text_is_an_error(write_csv: WriteCsv) -> None:
    _, report = parse_rows(write_csv, [row_with(Sags_ID="S" * 65, Sagsbehandler="A" * 21)])
    assert errors_of(report) == [
        (2, "Sags-ID", "Værdien er for lang (højst 64 tegn)"),
        (2, "Sagsbehandler", "Værdien er for lang (højst 20 tegn)"),
    ]


def test_missing_required_columns_stop_the_parse(write_csv: WriteCsv) -> None:
    header = [h for h in STANDARD_HEADER if h not in ("Ordning", "Sagsstart")]
    rows = [[v for h, v in zip(STANDARD_HEADER, GOOD_ROW, strict=True) if h in header]]
    records, report = parse_all(write_csv(header, rows))
    assert records == []
    assert report.missing_required == ["scheme", "start_date"]
    assert [(e.row, e.column_name) for e in report.errors] == [(1, "Ordning"), (1, "Sagsstart")]
    assert report.errors
    assert all(e.reason.startswith("Påkrævet kolonne mangler") for e in report.errors)


def test_two_columns_for_one_field_is_an_error(write_csv: WriteCsv) -> None:
    header = [*STANDARD_HEADER, "Sags ID"]
    records, report = parse_all(write_csv(header, [[*GOOD_ROW, "X"]]))
    assert records == []
    assert errors_of(report) == [
        (1, "Sags-ID", "Flere kolonner svarer til Sags-ID: Sags-ID, Sags ID")
    ]


def test_unmapped_columns_are_ignored_and_never_returned(write_csv: WriteCsv) -> None:
    header = ["Borgers navn", *STANDARD_HEADER, "Bemærkning", ""]
    rows = [["Hemmelig Person", *GOOD_ROW, "Ømt emne", ""]]
    records, report = parse_all(write_csv(header, rows))
    assert report.errors == []
    assert report.ignored_columns == ["Borgers navn", "Bemærkning"]
    assert "Hemmelig Person" not in repr(records) and "Ømt emne" not in repr(records)


def test_too_many_errors_are_counted_not_stored(write_csv: WriteCsv) -> None:
    rows = [row_with(Sags_ID=f"S-{i}", Ordning="Nope") for i in range(30)]
    records, report = parse_all(write_csv(STANDARD_HEADER, rows), max_errors=10)
    assert records == []
    assert len(report.errors) == 11
    assert report.errors_omitted == 20
    assert shown(report)[-1] == (0, None, "Yderligere 20 fejl er ikke vist", None)
    assert report.errors[-1] == RowError(0, None, "more_errors", {"n": 20})


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"", "tom.csv", "Filen er tom"),
        (b"\r\n  \r\n", None, "Filen er tom"),
        (b"%PDF-1.7 ...", "rapport.pdf", "Filtypen .pdf understøttes ikke"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), None, "Gammelt Excel-format (.xls)"),
        (b"Sags-ID;Ordning", "gammel.xls", "Gammelt Excel-format (.xls)"),
        (b"Sags-ID;Ordning", "ark.xlsx", "Filen kunne ikke læses som Excel-fil"),
        (b"PK\x03\x04 not really a zip", None, "Filen kunne ikke læses som Excel-fil"),
        (b"Sags-ID;Ordning\r\n", "ods.ods", "Filtypen .ods understøttes ikke"),
    ],
)
def test_file_level_problems(data: bytes, filename: str | None, reason: str) -> None:
    records, report = parse_all(data, filename=filename)
    assert records == []
    assert len(report.errors) == 1
    (error,) = report.errors
    assert (error.row, error.column_name, error.value) == (0, None, None)
    assert error.reason.startswith(reason)


def test_header_only_file_has_no_records_and_no_errors(write_csv: WriteCsv) -> None:
    records, report = parse_all(write_csv(STANDARD_HEADER, []))
    assert (records, report.errors, report.rows_read) == ([], [], 0)


# --- Encodings and streams --------------------------------------------------------------------


class NonSeekable(io.RawIOBase):
    """A forward-only binary stream (like a socket), counting the bytes handed out."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._data.readinto(buffer)
        self.consumed += n
        return n


def test_late_windows_1252_character_is_detected_in_seekable_files(write_csv: WriteCsv) -> None:
    rows = [row_with(Sags_ID=f"S-{i}") for i in range(2000)]  # ~100 KiB of ASCII
    rows.append(row_with(Sags_ID="S-last", Sagsbehandler_navn="Søren Bæk"))
    path = write_csv(STANDARD_HEADER, rows, encoding="cp1252")
    records, report = parse_all(path)
    assert report.errors == []
    assert report.encoding == "cp1252"
    assert records[-1].caseworker_name == "Søren Bæk"


def test_undecodable_bytes_late_in_a_stream_are_a_file_error() -> None:
    rows = [row_with(Sags_ID=f"S-{i}") for i in range(2000)]
    data = csv_text(STANDARD_HEADER, rows).encode("utf-8") + "S-x;Ø\r\n".encode("cp1252")
    records, report = parse_all(NonSeekable(data))
    assert report.encoding == "utf-8"
    # Text is decoded in chunks: records before the failing chunk were yielded (the service
    # rolls back on errors); the message names the last row read.
    assert 0 < len(records) < 2000
    (error,) = report.errors
    assert error.row == 0 and "tegnsættet utf-8" in error.reason
    assert f"efter række {records[-1].row}" in error.reason


def test_utf16_excel_unicode_text_export(sample_path: Path) -> None:
    text = sample_path.read_bytes().decode("utf-8-sig").replace(";", "\t")
    records, report = parse_all(text.encode("utf-16"), filename="udtræk.txt")
    expected, _ = parse_all(sample_path)
    assert report.errors == [] and report.encoding == "utf-16" and report.delimiter == "\t"
    assert records == expected


def test_reading_is_streamed(sample_path: Path) -> None:
    data = sample_path.read_bytes()
    big = data + b"".join(
        data.split(b"\r\n", 1)[1].replace(b"S-20", b"T%d-20" % k) for k in range(5)
    )
    stream = NonSeekable(big)
    report = ParseReport()
    records = iter_records(stream, filename="big.csv", report=report)
    first = next(records)
    assert first.row == 2
    assert stream.consumed < len(big) // 4
    rest = list(records)
    assert report.errors == [] and len(rest) + 1 == 6 * 3000
    assert not stream.closed  # the caller's stream is left open
    stream.close()


def test_iter_batches(sample_path: Path) -> None:
    report = ParseReport()
    sizes = [len(b) for b in iter_batches(sample_path, "standard", report=report, batch_size=700)]
    assert sizes == [700, 700, 700, 700, 200]
    assert report.errors == []
    with pytest.raises(ValueError):
        next(iter_batches(sample_path, report=ParseReport(), batch_size=0))


def test_closing_early_closes_the_file(
    write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader abandoned after the first record closes the export file at once."""
    rows = [[f"S-2026-{i:06d}", *GOOD_ROW[1:]] for i in range(1, 50)]
    path = write_csv(STANDARD_HEADER, rows)
    opened: list[io.IOBase] = []
    real_open = io.open

    def recording_open(file: object, *args: object, **kwargs: object) -> io.IOBase:
        handle = real_open(file, *args, **kwargs)  # type: ignore[call-overload]
        if str(file) == str(path):
            opened.append(handle)
        return handle

    monkeypatch.setattr("builtins.open", recording_open)
    monkeypatch.setattr(io, "open", recording_open)
    records = iter_records(path, report=ParseReport())
    next(records)
    assert opened, "the export was not opened through open()"
    assert not any(handle.closed for handle in opened)  # still reading
    records.close()
    assert all(handle.closed for handle in opened)


# --- CPR guard --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["010190-1234", "0101901234", "Borger 311299-4321 ringede", "290201-1111", "x3112991234y"],
)
def test_looks_like_cpr(text: str) -> None:
    assert looks_like_cpr(text)


@pytest.mark.parametrize(
    "text",
    [
        "320190-1234",
        "011390-1234",
        "310490-1234",
        "000190-1234",
        "S-2026-000001",
        "11-06-2026",
        "2026-06-11",
        "010190123456",
        "1010190-1234",
        "010190-12345",
        "010190 1234",
        "tlf 12345678",
        "",
    ],
)
def test_not_cpr(text: str) -> None:
    assert not looks_like_cpr(text)


CPR_DIGITS = ("010190", "1234", "0101901234", "311299")


def assert_no_cpr_digits(report: ParseReport) -> None:
    dump = repr(report.errors) + repr(report.ignored_columns)
    for digits in CPR_DIGITS:
        assert digits not in dump


def test_cpr_in_an_ignored_column_refuses_the_file(write_csv: WriteCsv) -> None:
    header = [*STANDARD_HEADER, "Bemærkning"]
    rows = [
        [*row_with(Sags_ID="S-1"), "ok"],
        [*row_with(Sags_ID="S-2"), "Borger 010190-1234 ringede"],
        [*row_with(Sags_ID="S-3"), "ok"],
        [*row_with(Sags_ID="S-4", Sagsstart="0101901234"), "311299-1234"],
    ]
    records, report = parse_all(write_csv(header, rows))
    assert report.cpr_found
    assert [r.case_ref for r in records] == ["S-1"]  # nothing after the first hit
    assert errors_of(report) == [
        (3, "Bemærkning", "Ligner et CPR-nummer – filen afvises"),
        (5, "Sagsstart", "Ligner et CPR-nummer – filen afvises"),
        (5, "Bemærkning", "Ligner et CPR-nummer – filen afvises"),
        (5, "Sagsstart", "Ugyldig dato (forventet dd-mm-åååå)"),
    ]
    assert report.errors
    assert all(e.value is None for e in report.errors)
    assert_no_cpr_digits(report)


def test_cpr_in_the_header_row(write_csv: WriteCsv) -> None:
    header = [*STANDARD_HEADER, "010190-1234"]
    records, report = parse_all(write_csv(header, [[*GOOD_ROW, ""]]))
    assert records == []
    assert errors_of(report) == [(1, "Kolonne 14", "Ligner et CPR-nummer – filen afvises")]
    assert_no_cpr_digits(report)


def test_cpr_in_an_extra_unheaded_field(write_csv: WriteCsv) -> None:
    records, report = parse_rows(write_csv, [[*GOOD_ROW, "0101901234"]])
    assert records == []
    assert errors_of(report) == [
        (2, "Kolonne 14", "Ligner et CPR-nummer – filen afvises"),
        (2, None, "Forkert antal felter i rækken (forventet 13, fandt 14)"),
    ]
    assert_no_cpr_digits(report)


def test_case_refs_and_dates_do_not_trigger_the_guard(sample_path: Path) -> None:
    _, report = parse_all(sample_path)
    assert not report.cpr_found


def test_cpr_in_xlsx_text_and_number_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append([*STANDARD_HEADER, "CPR", "Note"])
    sheet.append([*GOOD_ROW, 101901234, None])  # leading zero lost in a number cell
    sheet.append([*row_with(Sags_ID="S-2"), None, "311299-1234"])
    sheet.append([*row_with(Sags_ID="S-3"), 12345678, None])  # not CPR-like
    path = tmp_path / "cpr.xlsx"
    workbook.save(path)
    records, report = parse_all(path)
    assert records == []
    assert errors_of(report) == [
        (2, "CPR", "Ligner et CPR-nummer – filen afvises"),
        (3, "Note", "Ligner et CPR-nummer – filen afvises"),
    ]
    assert report.ignored_columns == ["CPR", "Note"]
    assert_no_cpr_digits(report)


# --- Robustness: never raise on any content ---------------------------------------------------

SMALL_VALID = csv_text(
    STANDARD_HEADER,
    [row_with(Sags_ID=f"S-{i}", Ugentlige_timer="8,5" if i % 2 else "") for i in range(4)],
).encode("utf-8-sig")


def check_invariants(records: list[CaseRecord], report: ParseReport) -> None:
    """Invariants of any parse, also one with no records or no errors (hence loops)."""
    for e in report.errors:
        assert isinstance(e, RowError)
        assert e.value is None or len(e.value) <= 40
    for r in records:
        assert isinstance(r, CaseRecord)
    assert len({r.case_ref for r in records}) == len(records)
    if report.cpr_found:
        assert report.errors


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from([None, "x.csv", "x.xlsx", "x.txt", "x"]))
def test_arbitrary_bytes_never_raise(data: bytes, filename: str | None) -> None:
    check_invariants(*parse_all(data, filename=filename))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_arbitrary_zip_like_bytes_never_raise(data: bytes) -> None:
    check_invariants(*parse_all(b"PK\x03\x04" + data))


@st.composite
def mutated_csv(draw: st.DrawFn) -> bytes:
    data = bytearray(SMALL_VALID)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "splice"]))
        position = draw(st.integers(0, len(data)))
        if kind == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            chunk = draw(
                st.one_of(
                    st.binary(max_size=12),
                    st.sampled_from(
                        [b";", b"\r\n", b'"', b"\n\n", b"010190-1234", b"\x00", b"\xff", b"-1"]
                    ),
                )
            )
            data[position:position] = chunk
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 20))]
        else:
            start = draw(st.integers(0, len(SMALL_VALID)))
            data[position:position] = SMALL_VALID[start : start + draw(st.integers(1, 60))]
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(mutated_csv())
def test_mutated_csv_never_raises(data: bytes) -> None:
    check_invariants(*parse_all(data))


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(STANDARD_HEADER)
    sheet.append(GOOD_ROW)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX_BYTES = _xlsx_bytes()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(XLSX_BYTES) - 1), st.integers(0, 255)), max_size=6))
def test_corrupted_xlsx_never_raises(flips: list[tuple[int, int]]) -> None:
    data = bytearray(XLSX_BYTES)
    for position, value in flips:
        data[position] = value
    check_invariants(*parse_all(bytes(data), filename="x.xlsx"))


def test_title_rows_above_the_header_are_skipped(write_bytes: Callable[[str, bytes], Path]) -> None:
    body = csv_text(STANDARD_HEADER, [GOOD_ROW])
    data = f"Sagsudtræk;;\r\nJobcenter Nord 010190-1234\r\n\r\n{body}".encode()
    records, report = parse_all(write_bytes("titel.csv", data))
    assert [r.row for r in records] == []  # refused: the title row carries a CPR number
    assert errors_of(report) == [(2, "Kolonne 1", "Ligner et CPR-nummer – filen afvises")]
    data = f"Sagsudtræk pr. 01-10-2026\r\n\r\n{body}".encode()
    records, report = parse_all(write_bytes("titel2.csv", data))
    assert report.errors == []
    assert [r.row for r in records] == [4]


def test_header_search_gives_up_on_the_best_candidate(write_csv: WriteCsv) -> None:
    header = ["Sags-ID", "Sagsbehandler", "Team"]
    rows = [["x", "y", "z"]] * 12
    records, report = parse_all(write_csv(header, rows))
    assert records == []
    assert [(e.row, e.column_name) for e in report.errors] == [(1, "Ordning"), (1, "Sagsstart")]


def test_delimiter_is_sniffed_below_a_title_line(write_bytes: Callable[[str, bytes], Path]) -> None:
    body = csv_text(STANDARD_HEADER, [row_with(Ugentlige_timer="8,5")], delimiter=",")
    path = write_bytes("komma.csv", f"Sagsudtræk pr. 01-10-2026\r\n{body}".encode())
    records, report = parse_all(path)
    assert report.errors == [] and report.delimiter == ","
    assert records[0].weekly_hours == 8.5


def test_control_characters_in_text_are_errors(write_csv: WriteCsv) -> None:
    rows = [row_with(Sagsbehandler="A\x00B"), row_with(Sags_ID="S-2", Team="Team\x07")]
    records, report = parse_rows(write_csv, rows)
    assert records == []
    assert errors_of(report) == [
        (2, "Sagsbehandler", "Værdien indeholder ugyldige kontroltegn"),
        (3, "Team", "Værdien indeholder ugyldige kontroltegn"),
    ]


def test_unterminated_quote_is_read_to_the_end_not_a_crash() -> None:
    header = ";".join(STANDARD_HEADER)
    data = f'{header}\r\n"S-1;abc;' + "x" * 200_000 + "\r\n"
    records, report = parse_all(data.encode())
    assert records == []
    # The open quote swallows the rest of the file into one field: one row, too few fields.
    assert errors_of(report) == [(2, None, "Forkert antal felter i rækken (forventet 13, fandt 1)")]


def test_very_long_cells_are_reported_with_row_and_column(write_csv: WriteCsv) -> None:
    # Longer than Python's csv default field limit (131,072 characters).
    huge = "x" * 200_000
    rows = [
        row_with(Sags_ID="S-1"),
        row_with(Sags_ID="S" + huge),
        row_with(Sags_ID="S-3", Sagsstart=huge),
        row_with(Sags_ID="S-4", Team=huge),
        row_with(Sags_ID="S-5"),
    ]
    records, report = parse_rows(write_csv, rows)
    assert [r.case_ref for r in records] == ["S-1", "S-5"]
    assert errors_of(report) == [
        (3, "Sags-ID", "Værdien er for lang (højst 64 tegn)"),
        (4, "Sagsstart", "Værdien er for lang (højst 100 tegn)"),
        (5, "Team", "Værdien er for lang (højst 120 tegn)"),
    ]
    assert report.errors
    assert all(e.value is None or len(e.value) <= 40 for e in report.errors)


def test_very_long_cell_in_an_ignored_column_is_ignored(write_csv: WriteCsv) -> None:
    header = [*STANDARD_HEADER, "Bemærkning"]
    rows = [[*GOOD_ROW, "x" * 300_000], [*row_with(Sags_ID="S-2"), "kort"]]
    records, report = parse_all(write_csv(header, rows))
    assert report.errors == [] and len(records) == 2


def test_row_numbers_after_a_multiline_quoted_field(write_csv: WriteCsv) -> None:
    rows = [
        row_with(Sags_ID="S-1"),
        row_with(Sags_ID="S-2", Sagsbehandler_navn="Anne\r\nBech\r\nJensen"),  # rows 3-5
        row_with(Sags_ID="S-3"),  # row 6
        row_with(Sags_ID="S-4", Ordning="Nope"),  # row 7
    ]
    records, report = parse_rows(write_csv, rows)
    assert [(r.case_ref, r.row) for r in records] == [("S-1", 2), ("S-2", 3), ("S-3", 6)]
    assert errors_of(report) == [(7, "Ordning", "Ukendt ordning")]


def test_rows_in_several_batches_keep_their_numbers(write_csv: WriteCsv) -> None:
    rows = [row_with(Sags_ID=f"S-{i}") for i in range(2500)]
    rows[1500][COLUMN_INDEX["Team"]] = "Team\nB"  # a multi-line field in the second batch
    rows[2200][COLUMN_INDEX["Ordning"]] = "Nope"
    report = ParseReport()
    batches = list(iter_columns(write_csv(STANDARD_HEADER, rows), report=report, batch_size=1000))
    numbers = [n for batch in batches for n in batch.rows]
    assert numbers[:3] == [2, 3, 4] and numbers[1500] == 1502 and numbers[1501] == 1504
    assert errors_of(report) == [(2203, "Ordning", "Ukendt ordning")]
    assert report.rows_read == 2500


def test_xlsx_1904_epoch_serial_dates(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.epoch = datetime(1904, 1, 1)  # Excel for Mac's old date system
    sheet = workbook.active
    sheet.append(STANDARD_HEADER)
    serial = (date(2026, 6, 11) - date(1904, 1, 1)).days
    row: list[object] = list(GOOD_ROW)
    row[COLUMN_INDEX["Sagsstart"]] = serial
    row[COLUMN_INDEX["Seneste_samtale"]] = float(serial + 2)
    sheet.append(row)
    path = tmp_path / "mac.xlsx"
    workbook.save(path)
    records, report = parse_all(path)
    assert report.errors == []
    (record,) = records
    assert record.start_date == date(2026, 6, 11)
    assert record.last_conversation == date(2026, 6, 13)


def test_xlsx_decimal_values_in_errors_use_a_decimal_comma(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(STANDARD_HEADER)
    row: list[object] = list(GOOD_ROW)
    row[COLUMN_INDEX["Samtaler_seneste_12_mdr"]] = 2.5
    row[COLUMN_INDEX["Ugentlige_timer"]] = 85.5
    sheet.append(row)
    path = tmp_path / "decimal.xlsx"
    workbook.save(path)
    _, report = parse_all(path)
    assert [e.value for e in report.errors] == ["2,5", "85,5"]


def test_cpr_on_another_sheet_refuses_the_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sager"
    sheet.append(STANDARD_HEADER)
    sheet.append(GOOD_ROW)
    notes = workbook.create_sheet("Noter")
    notes.append(["Borger", "Bemærkning"])
    notes.append(["Anne", "ring på 0101901234 i morgen"])
    numbers = workbook.create_sheet("Tal")
    numbers.append([None, None, 311299123])  # a number cell that lost its leading zero
    hidden = workbook.create_sheet("Skjult")
    hidden.sheet_state = "hidden"
    hidden.append(["111111-1118"])
    path = tmp_path / "ark.xlsx"
    workbook.save(path)
    records, report = parse_all(path)
    assert records == [] and report.cpr_found
    assert errors_of(report) == [
        (2, "Ark 2 «Noter», kolonne 2", "Ligner et CPR-nummer – filen afvises"),
        (1, "Ark 3 «Tal», kolonne 3", "Ligner et CPR-nummer – filen afvises"),
        (1, "Ark 4 «Skjult», kolonne 1", "Ligner et CPR-nummer – filen afvises"),
    ]
    assert_no_cpr_digits(report)


def test_other_sheets_without_cpr_are_fine(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(STANDARD_HEADER)
    workbook.active.append(GOOD_ROW)
    workbook.create_sheet("Noter").append(["Udtrukket 01-10-2026", 12345678, 20261001])
    path = tmp_path / "ark.xlsx"
    workbook.save(path)
    records, report = parse_all(path)
    assert report.errors == [] and len(records) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Import af borger 010190-1234.csv", "Import af borger [cpr fjernet].csv"),
        ("0101901234 og 311299-4321", "[cpr fjernet] og [cpr fjernet]"),
        ("S-2026-000001 13131313131 991399-1234", "S-2026-000001 13131313131 991399-1234"),
    ],
)
def test_scrub_cpr(text: str, expected: str) -> None:
    assert scrub_cpr(text) == expected
