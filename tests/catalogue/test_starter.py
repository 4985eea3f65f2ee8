"""Tests for the starter catalogue of control points and its loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilsyn.catalogue.starter import OUTCOMES, Catalogue, _Errors, load_starter
from tilsyn.schemes import SCHEMES

# Every row of the specified starter catalogue, written out independently of starter.toml:
# (theme code, question, scale code).
SPEC_ROWS = [
    ("JOBMAAL", "Fremgår et konkret job- eller uddannelsesmål af planen/indsatsdelen?", "ja_nej"),
    ("JOBMAAL", "Er jobmålet realistisk ift. borgerens kompetencer og erfaringer?", "grad"),
    (
        "RETTID",
        "Er sagen behandlet i rehabiliteringsteamet senest 4 uger efter overgang til "
        "jobafklaringsforløb?",
        "ja_nej_ir",
    ),
    ("RETTID", "Er revurderingen af ledighedsydelse afsluttet inden 18 måneder?", "ja_nej_ir"),
    ("RETTID", "Er der afholdt mindst 6 samtaler inden for de seneste 12 måneder?", "ja_nej_ir"),
    ("CV", "Er cv gjort tilgængeligt på Jobnet inden 3 uger?", "ja_nej_ir"),
    ("CV", "Er cv'et fyldestgørende og kompetencefokuseret?", "grad"),
    ("BORGER", "Fremgår borgerens eget perspektiv af planen/indsatsdelen?", "ja_nej"),
    ("INDSATS", "Er de indsatser, rehabiliteringsteamet indstillede, iværksat?", "ja_delvist_nej"),
    ("INDSATS", "Følges der relevant op på iværksatte indsatser?", "grad"),
    (
        "UARB",
        "Foreligger en aktuel og konkret vurdering efter sygedagpengelovens § 7?",
        "kvalitet",
    ),
    (
        "HELBRED",
        "Er lægelige oplysninger indhentet efter reglerne (praktiserende læge/klinisk funktion)?",
        "ja_nej_ir",
    ),
    ("FORL", "Er forlængelsen korrekt og dokumenteret?", "ja_nej_ir"),
    ("OEKONOMI", "Er udgiften konteret korrekt (refusion)?", "ja_nej"),
    ("SAMLET", "Samlet vurdering af sagsbehandlingens kvalitet", "samlet_1_3"),
]

SCHEME_GROUPS = {
    "sygedagpenge": {"sygedagpenge"},
    "jobafklaring": {"jobafklaring"},
    "fleksjob/ledighedsydelse": {"fleksjob", "ledighedsydelse"},
    "ressourceforløb/kontanthjælp": {"ressourceforloeb", "kontanthjaelp"},
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_starter()


def test_counts(cat: Catalogue) -> None:
    assert len(cat.themes) >= 8
    assert len(cat.control_points) >= 25


def test_core_is_small_and_applies_broadly(cat: Catalogue) -> None:
    core = cat.core_themes
    assert 1 <= len(core) <= 3
    assert 4 <= len(cat.core_control_points) <= 8
    assert {t.code for t in core} == {"JOBMAAL", "SAMLET"}
    for t in core:
        assert t.description.strip()
    # The core is asked every round, so it must span the schemes, not a single one.
    for cp in cat.core_control_points:
        assert not cp.schemes or len(cp.schemes) >= 5, cp.code
    assert any(not t.core for t in cat.themes)


@pytest.mark.parametrize(("theme", "question", "scale"), SPEC_ROWS)
def test_brief_rows_present(cat: Catalogue, theme: str, question: str, scale: str) -> None:
    matches = [cp for cp in cat.control_points if cp.question == question]
    assert len(matches) == 1, question
    cp = matches[0]
    assert cp.theme_code == theme
    assert cp.scale_code == scale


@pytest.mark.parametrize("group", sorted(SCHEME_GROUPS))
def test_scheme_groups_covered(cat: Catalogue, group: str) -> None:
    schemes = SCHEME_GROUPS[group]
    explicit = [cp for cp in cat.control_points if set(cp.schemes) & schemes]
    assert len(explicit) >= 4, group


def test_scales(cat: Catalogue) -> None:
    codes = {s.code for s in cat.scales}
    assert {"ja_nej", "ja_nej_ir", "ja_delvist_nej", "grad", "kvalitet", "samlet_1_3"} <= codes
    for s in cat.scales:
        outcomes = {o.outcome for o in s.options}
        assert "in_order" in outcomes
        assert "not_in_order" in outcomes
        assert outcomes <= set(OUTCOMES)


def test_scale_semantics(cat: Catalogue) -> None:
    def outcomes(code: str) -> dict[str, str]:
        return {o.label: o.outcome for o in cat.scale(code).options}

    assert outcomes("ja_nej") == {"Ja": "in_order", "Nej": "not_in_order"}
    assert outcomes("ja_nej_ir") == {
        "Ja": "in_order",
        "Nej": "not_in_order",
        "Ikke relevant": "not_applicable",
    }
    assert outcomes("ja_delvist_nej") == {
        "Ja": "in_order",
        "Delvist": "not_in_order",
        "Nej": "not_in_order",
    }
    grad = {o.label: (o.outcome, o.score) for o in cat.scale("grad").options}
    assert grad == {
        "I høj grad": ("in_order", 3.0),
        "I middel grad": ("in_order", 2.0),
        "I lav grad": ("not_in_order", 1.0),
    }
    kval = {o.label: (o.outcome, o.score) for o in cat.scale("kvalitet").options}
    assert kval == {
        "Høj kvalitet": ("in_order", 3.0),
        "Middel kvalitet": ("in_order", 2.0),
        "Lav kvalitet": ("not_in_order", 1.0),
    }
    samlet = cat.scale("samlet_1_3")
    assert [(o.code, o.outcome, o.score) for o in samlet.options] == [
        ("1", "not_in_order", 1.0),
        ("2", "in_order", 2.0),
        ("3", "in_order", 3.0),
    ]
    assert samlet.outcome("2") == "in_order"
    with pytest.raises(KeyError):
        samlet.option("4")


def test_points_are_well_formed(cat: Catalogue) -> None:
    codes = [cp.code for cp in cat.control_points]
    assert len(codes) == len(set(codes))
    for theme in cat.themes:
        assert theme.name and theme.description
        assert theme.control_points
        for cp in theme.control_points:
            assert cp.code.startswith(theme.code + "-"), cp.code
            assert cp.question.endswith("?") or cp.code == "SAMLET-01"
            assert set(cp.schemes) <= set(SCHEMES)
            cat.scale(cp.scale_code)


def test_lookup_and_applies_to(cat: Catalogue) -> None:
    cp = cat.control_point("RETTID-02")
    assert cp.applies_to("ledighedsydelse")
    assert not cp.applies_to("sygedagpenge")
    assert cat.control_point("SAMLET-01").applies_to("foertidspension")  # empty = all
    assert cat.theme("UARB").control_points[0].legal_reference == "Sygedagpengeloven § 7"
    with pytest.raises(KeyError):
        cat.theme("NOPE")
    with pytest.raises(KeyError):
        cat.control_point("NOPE-01")


def test_danish_text_is_not_mangled(cat: Catalogue) -> None:
    text = " ".join(
        [cp.question + cp.help_text for cp in cat.control_points]
        + [t.name + t.description for t in cat.themes]
    )
    assert "æ" in text and "ø" in text and "å" in text
    assert "\ufffd" not in text


# ------------------------------------------------------------------------------------------
# Broken catalogues
# ------------------------------------------------------------------------------------------

GOOD = """
[[scales]]
code = "ja_nej"
name = "Ja / Nej"
options = [
    { code = "ja", label = "Ja", outcome = "in_order" },
    { code = "nej", label = "Nej", outcome = "not_in_order" },
]

[[themes]]
code = "T"
name = "Tema"
description = "Beskrivelse"
core = true

[[themes.control_points]]
code = "T-01"
question = "Spørgsmål?"
help = "Hjælp"
schemes = ["sygedagpenge"]
scale = "ja_nej"
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "katalog.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_minimal_catalogue_loads(tmp_path: Path) -> None:
    cat = load_starter(_write(tmp_path, GOOD))
    assert [cp.code for cp in cat.control_points] == ["T-01"]
    assert cat.control_points[0].legal_reference is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('scale = "ja_nej"\n', 'scale = "findes_ikke"\n', "unknown scale 'findes_ikke'"),
        ('["sygedagpenge"]', '["sygedagpenge", "dagpenge"]', "unknown scheme 'dagpenge'"),
        ('outcome = "not_in_order"', 'outcome = "maybe"', "outcome 'maybe'"),
        (
            'outcome = "not_in_order"',
            'outcome = "not_applicable"',
            "at least one option with outcome 'not_in_order'",
        ),
        (
            'outcome = "in_order"',
            'outcome = "not_in_order"',
            "at least one option with outcome 'in_order'",
        ),
        ('code = "nej"', 'code = "ja"', "duplicate option code 'ja'"),
        ('help = "Hjælp"', 'hjaelp = "Hjælp"', "unknown key(s) 'hjaelp'"),
        ('question = "Spørgsmål?"\n', "", "missing 'question'"),
        ("core = true", 'core = "ja"', "'core' must be true or false"),
        ('schemes = ["sygedagpenge"]', 'schemes = "sygedagpenge"', "'schemes' must be a list"),
    ],
)
def test_broken_catalogue_raises(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ValueError, match="invalid catalogue") as info:
        load_starter(_write(tmp_path, GOOD.replace(old, new, 1)))
    assert message in str(info.value)


def test_duplicate_codes(tmp_path: Path) -> None:
    dup_point = GOOD + GOOD[GOOD.index("[[themes.control_points]]") :]
    with pytest.raises(ValueError, match="duplicate control point code 'T-01'"):
        load_starter(_write(tmp_path, dup_point))
    dup_theme = GOOD + GOOD[GOOD.index("[[themes]]") :].replace('"T-01"', '"T-02"')
    with pytest.raises(ValueError, match="duplicate theme code 'T'"):
        load_starter(_write(tmp_path, dup_theme))
    dup_scale = GOOD[: GOOD.index("[[themes]]")] + GOOD
    with pytest.raises(ValueError, match="duplicate scale code 'ja_nej'"):
        load_starter(_write(tmp_path, dup_scale))


def test_all_errors_reported_together(tmp_path: Path) -> None:
    broken = GOOD.replace('scale = "ja_nej"\n', 'scale = "x"\n').replace(
        '["sygedagpenge"]', '["y"]'
    )
    with pytest.raises(ValueError) as info:
        load_starter(_write(tmp_path, broken))
    assert "unknown scale 'x'" in str(info.value)
    assert "unknown scheme 'y'" in str(info.value)


def test_unparseable_toml(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot parse catalogue"):
        load_starter(_write(tmp_path, "[[scales]\ncode = "))


def test_errors_tables_yields_the_tables_with_their_places_and_reports_the_rest() -> None:
    errors = _Errors()
    items = [{"a": 1}, "x", {"a": 2, "b": 3}]
    found = list(errors.tables("T-01", items, "rule", {"a"}, "'a'"))
    assert found == [("T-01 rule[1]", {"a": 1}), ("T-01 rule[3]", {"a": 2, "b": 3})]
    assert errors.items == [
        "T-01 rule[2]: must be a table with 'a'",
        "T-01 rule[3]: unknown key(s) 'b'",
    ]
    assert errors.non_empty_list("here", [1], "no") == [1]
    assert errors.non_empty_list("here", [], "empty") is None
    assert errors.items[-1] == "here: empty"


def test_errors_coded_table_names_a_table_by_its_code_or_its_place() -> None:
    errors = _Errors()
    assert errors.coded_table({"code": "yn", "x": 1}, {"code"}, "scale", "scales[0]") == (
        "scale 'yn'",
        "yn",
    )
    assert errors.coded_table({"code": 7}, {"code"}, "scale", "scales[1]") == ("scales[1]", "")
    assert errors.items == [
        "scale 'yn': unknown key(s) 'x'",
        "scales[1]: 'code' must be a string, got int",
    ]
