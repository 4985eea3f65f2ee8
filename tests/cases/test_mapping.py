"""Column mappings: loading, validation, header matching, and parsing with a non-default one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cases.conftest import Table
from tilsyn.cases.fields import CANONICAL_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS
from tilsyn.cases.importing.parser import parse_all
from tilsyn.cases.mapping import (
    DEFAULT_DIRECTORY,
    DEFAULT_MAPPING,
    ColumnMapping,
    MappingError,
    available_mappings,
    load_mapping,
    normalize_header,
)

FASIT_HEADERS = {
    "Sags-ID": "Sagsnummer",
    "Sagsbehandler": "Initialer",
    "Sagsbehandler navn": "Sagsbehandler",
    "Team": "Afdeling",
    "Ordning": "Ydelse",
    "Sagsstart": "Startdato",
    "Seneste samtale": "Sidste opfølgningssamtale",
    "Samtaler seneste 12 mdr": "Antal samtaler 12 mdr",
    "Frist revurdering": "Næste revurdering",
    "Sagsbehandlerskift 12 mdr": "Antal sagsbehandlerskift",
    "Jobmål registreret": "Jobmål",
    "Cv på Jobnet": "CV på Jobnet",
    "Ugentlige timer": "Timer pr. uge",
}


def test_default_directory_is_the_repository_config() -> None:
    assert Path(__file__).resolve().parents[2] / "config" / "mappings" == DEFAULT_DIRECTORY
    assert (DEFAULT_DIRECTORY / f"{DEFAULT_MAPPING}.toml").is_file()


def test_standard_mapping_matches_the_example_headers(sample_table: Table) -> None:
    mapping = load_mapping("standard")
    assert mapping.name == "standard" and mapping.label
    assert set(mapping.columns) == set(CANONICAL_FIELDS)
    match = mapping.match(sample_table[0])
    assert match.missing == [] and match.ignored == [] and match.conflicts == []
    assert sorted(match.fields.values()) == list(range(13))
    assert mapping.caseworker_name == "Sagsbehandler navn"
    assert mapping.header_for("case_ref") == "Sags-ID"


def test_fasit_mapping_loads() -> None:
    mapping = load_mapping("fasit")
    assert mapping.name == "fasit"
    assert mapping.header_for("case_ref") == "Sagsnummer"
    assert mapping.header_for("scheme") == "Ydelse"
    assert mapping.caseworker_name == "Sagsbehandler"
    assert set(REQUIRED_FIELDS) <= set(mapping.columns)


def test_available_mappings_default_first() -> None:
    names = [m.name for m in available_mappings()]
    assert names[0] == DEFAULT_MAPPING
    assert "fasit" in names


def test_fasit_layout_parses_to_the_same_records(
    sample_table: Table, sample_path: Path, write_csv: Callable[..., Path]
) -> None:
    header, rows = sample_table
    fasit_header = [FASIT_HEADERS[h] for h in header]
    path = write_csv([*fasit_header, "CPR-status"], [[*r, "Ukendt"] for r in rows])
    expected, _ = parse_all(sample_path)
    records, report = parse_all(path, "fasit")
    assert report.errors == []
    assert report.ignored_columns == ["CPR-status"]
    assert records == expected
    # The standard mapping does not understand this layout.
    _, report = parse_all(path, load_mapping("standard"))
    assert set(report.missing_required) == {"case_ref", "scheme", "start_date"}


def test_unmapped_columns_are_reported_as_ignored() -> None:
    mapping = load_mapping()
    headers = ["Sags-ID", "CPR", "Sagsbehandler", " Ordning ", "Sagsstart", "Bemærkning", "", " "]
    match = mapping.match(headers)
    assert match.ignored == ["CPR", "Bemærkning"]
    assert match.fields == {"case_ref": 0, "caseworker": 2, "scheme": 3, "start_date": 4}
    assert set(match.fields) | set(OPTIONAL_FIELDS) == set(CANONICAL_FIELDS)


def test_header_matching_is_lenient_about_case_and_whitespace() -> None:
    assert normalize_header("\ufeff  Samtaler \xa0seneste  12 MDR ") == "samtaler seneste 12 mdr"
    mapping = load_mapping()
    match = mapping.match(["SAGS-ID", "sagsbehandler", "ORDNING", "sagsstart"])
    assert match.missing == []


def test_two_headers_for_one_field_are_a_conflict() -> None:
    match = load_mapping().match(["Sags-ID", "Sags ID", "Sagsbehandler", "Ordning", "Sagsstart"])
    assert match.conflicts == [("case_ref", ["Sags-ID", "Sags ID"])]


def test_custom_directory(tmp_path: Path) -> None:
    (tmp_path / "kommune.toml").write_text(
        'label = "Kommunens eget udtræk"\n'
        "[columns]\n"
        'case_ref = "Løbenummer"\n'
        'caseworker = ["Medarbejder"]\n'
        'scheme = ["Målgruppe"]\n'
        'start_date = ["Dato"]\n',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a mapping", encoding="utf-8")
    mapping = load_mapping("kommune", tmp_path)
    assert mapping.label == "Kommunens eget udtræk"
    assert mapping.columns["case_ref"] == ["Løbenummer"]
    assert [m.name for m in available_mappings(tmp_path)] == ["kommune"]
    assert available_mappings(tmp_path / "nowhere") == []
    records, report = parse_all(
        "Løbenummer;Medarbejder;Målgruppe;Dato\r\n7;ab;Fleksjob;01-02-2026\r\n".encode(),
        mapping,
    )
    assert report.errors == []
    assert (records[0].case_ref, records[0].caseworker, records[0].team) == ("7", "AB", None)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("label = 'x'\n", "missing [columns]"),
        ("[columns]\ncase_ref = ['A']\n", "required field(s) caseworker, scheme, start_date"),
        (
            "[columns]\ncase_ref=['A']\ncaseworker=['B']\nscheme=['C']\nstart_date=['D']\n"
            "cpr=['E']\n",
            "unknown field(s) cpr",
        ),
        (
            "[columns]\ncase_ref=['A']\ncaseworker=['a ']\nscheme=['C']\nstart_date=['D']\n",
            "used for both",
        ),
        ("[columns]\ncase_ref=[1]\ncaseworker=['B']\nscheme=['C']\nstart_date=['D']\n", "strings"),
        ("[columns\n", "bad.toml"),
    ],
)
def test_invalid_mapping_files(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping("bad", tmp_path)


@pytest.mark.parametrize("name", ["../default", "nope", "", "a/b"])
def test_unknown_or_unsafe_names(name: str) -> None:
    with pytest.raises(MappingError):
        load_mapping(name)


def test_mapping_dataclass_validates() -> None:
    with pytest.raises(MappingError):
        ColumnMapping("x", "X", {"case_ref": ["A"]})
    mapping = ColumnMapping(
        "x", "X", {"case_ref": ["A"], "caseworker": ["B"], "scheme": ["C"], "start_date": ["D"]}
    )
    assert mapping.caseworker_name is None
    assert mapping.header_for("team") == "Team"
