"""Tests for declarative risk factors and vectorised scoring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilsyn.risk.rules import (
    ATTRIBUTES,
    CATEGORICAL_ATTRIBUTES,
    OPERATORS,
    Condition,
    Factor,
    condition_text,
    factor_from_dict,
    factor_to_dict,
    load_default_model,
    load_model_file,
    score,
    validate_factor,
    validate_factors,
)
from tilsyn.schemes import SCHEMES

NAN = math.nan


def fac(
    code: str,
    attribute: str,
    operator: str,
    value: object,
    weight: float = 1.0,
    schemes: tuple[str, ...] = (),
    when: tuple[Condition, ...] = (),
) -> Factor:
    return Factor(
        code=code,
        label=f"Faktor {code}",
        attribute=attribute,
        operator=operator,
        value=value,  # type: ignore[arg-type]
        weight=weight,
        rationale="Begrundelse fra revisionen.",
        schemes=schemes,
        when=when,
    )


# ------------------------------------------------------------------------------------------
# Hand-computed example
# ------------------------------------------------------------------------------------------

MODEL = [
    fac("A", "weeks_open", ">", 26, 1.5, schemes=("sygedagpenge",)),
    fac("B", "days_since_conversation", ">", 90, 1.0),
    fac(
        "C",
        "conversations_12m",
        "<",
        6,
        0.5,
        schemes=("jobafklaring", "ressourceforloeb"),
        when=(Condition("weeks_open", ">=", 52),),
    ),
    fac("D", "days_to_reassessment", "<=", 60, 2.0, schemes=("ledighedsydelse",)),
    fac("E", "job_goal", "==", 0, 0.25),
    fac("F", "cv_on_jobnet", "missing", None, 0.75),
]

CASES = {
    "scheme": np.array(
        [
            "sygedagpenge",
            "sygedagpenge",
            "jobafklaring",
            "ressourceforloeb",
            "ledighedsydelse",
            "ledighedsydelse",
            "jobafklaring",
        ]
    ),
    "weeks_open": np.array([30, 26, 60, 52, 100, 40, 51], dtype=float),
    "days_since_conversation": np.array([100, 90, NAN, 91, 5, NAN, 200]),
    "conversations_12m": np.array([3, NAN, 5, 6, NAN, 2, 0]),
    "days_to_reassessment": np.array([NAN, NAN, 10, NAN, -3, 61, 0]),
    "job_goal": np.array([0, 1, NAN, 0, 1, 0, NAN]),
    "cv_on_jobnet": np.array([NAN, 1, 0, NAN, 1, 0, NAN]),
}

# Worked out by hand, case by case (columns A..F):
# 0 syg, 30 uger: A (30>26, syg), B (100>90), E (mål 0), F (cv ukendt)      = 1.5+1+0.25+0.75
# 1 syg, 26 uger: A nej (26 ikke > 26), B nej (90 ikke > 90), intet andet    = 0
# 2 jobafkl, 60 uger: C (5<6, 60>=52, jobafkl); D nej (forkert ordning)       = 0.5
# 3 ressource, 52 uger: C nej (6 ikke < 6); B (91>90), E, F                   = 1+0.25+0.75
# 4 ledighedsydelse: D (-3 <= 60, overskredet frist)                          = 2
# 5 ledighedsydelse: D nej (61 > 60), E (mål 0)                               = 0.25
# 6 jobafkl, 51 uger: C nej (51 < 52 uger), B (200>90), F (cv ukendt)         = 1+0.75
EXPECTED_FIRED = np.array(
    [
        # A      B      C      D      E      F
        [True, True, False, False, True, True],
        [False, False, False, False, False, False],
        [False, False, True, False, False, False],
        [False, True, False, False, True, True],
        [False, False, False, True, False, False],
        [False, False, False, False, True, False],
        [False, True, False, False, False, True],
    ]
)
EXPECTED_SCORES = np.array([3.5, 0.0, 0.5, 2.0, 2.0, 0.25, 1.75])


def test_hand_computed_scores() -> None:
    result = score(MODEL, CASES)
    np.testing.assert_array_equal(result.fired, EXPECTED_FIRED)
    np.testing.assert_allclose(result.scores, EXPECTED_SCORES)
    assert result.scores.dtype == np.float64
    assert result.fired.dtype == np.bool_
    assert result.factor_codes == ("A", "B", "C", "D", "E", "F")
    np.testing.assert_array_equal(result.weights, [1.5, 1.0, 0.5, 2.0, 0.25, 0.75])
    assert result.fired_codes(0) == ["A", "B", "E", "F"]
    assert result.fired_codes(1) == []


def test_accepts_lists_and_int_arrays() -> None:
    attrs = {k: v.tolist() for k, v in CASES.items()}
    result = score(MODEL, attrs)
    np.testing.assert_allclose(result.scores, EXPECTED_SCORES)
    ints = score([fac("X", "weeks_open", ">=", 2)], {"weeks_open": np.array([1, 2, 3])})
    np.testing.assert_array_equal(ints.fired[:, 0], [False, True, True])


# ------------------------------------------------------------------------------------------
# Every operator, NaN handling, scheme restriction
# ------------------------------------------------------------------------------------------

NUM = {"weeks_open": np.array([1.0, 2.0, 3.0, NAN])}


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        (">=", 2, [False, True, True, False]),
        (">", 2, [False, False, True, False]),
        ("<=", 2, [True, True, False, False]),
        ("<", 2, [True, False, False, False]),
        ("==", 2, [False, True, False, False]),
        ("!=", 2, [True, False, True, False]),  # NaN is unknown, not "different"
        ("missing", None, [False, False, False, True]),
    ],
)
def test_numeric_operators(operator: str, value: object, expected: list[bool]) -> None:
    result = score([fac("X", "weeks_open", operator, value, 2.0)], NUM)
    np.testing.assert_array_equal(result.fired[:, 0], expected)
    np.testing.assert_allclose(result.scores, 2.0 * np.array(expected, dtype=float))


SCHEME_ATTR = {"scheme": np.array(["sygedagpenge", "fleksjob", "", None], dtype=object)}


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("in", ("fleksjob", "ledighedsydelse"), [False, True, False, False]),
        ("==", "sygedagpenge", [True, False, False, False]),
        ("!=", "sygedagpenge", [False, True, False, False]),  # unknown never fires
        ("missing", None, [False, False, True, True]),
    ],
)
def test_scheme_operators(operator: str, value: object, expected: list[bool]) -> None:
    result = score([fac("S", "scheme", operator, value)], SCHEME_ATTR)
    np.testing.assert_array_equal(result.fired[:, 0], expected)


def test_all_nan_never_fires_except_missing() -> None:
    attrs = {a: np.full(5, NAN) for a in ATTRIBUTES if a not in CATEGORICAL_ATTRIBUTES}
    factors = [
        fac(f"{a}_{i}", a, op, 0.0)
        for a in attrs
        for i, op in enumerate([">=", ">", "<=", "<", "==", "!="])
    ]
    result = score(factors, attrs)
    assert not result.fired.any()
    assert np.all(result.scores == 0.0)
    missing = score([fac(f"m_{a}", a, "missing", None) for a in attrs], attrs)
    assert missing.fired.all()


def test_infinite_values_compare_normally() -> None:
    result = score(
        [fac("X", "days_to_reassessment", "<=", 60)],
        {"days_to_reassessment": np.array([-np.inf, np.inf])},
    )
    np.testing.assert_array_equal(result.fired[:, 0], [True, False])


def test_scheme_restriction() -> None:
    attrs = {
        "weeks_open": np.array([30.0, 30.0, 30.0, 30.0]),
        "scheme": np.array(["sygedagpenge", "jobafklaring", "fleksjob", ""]),
    }
    restricted = fac("R", "weeks_open", ">", 26, schemes=("sygedagpenge", "fleksjob"))
    unrestricted = fac("U", "weeks_open", ">", 26)
    result = score([restricted, unrestricted], attrs)
    np.testing.assert_array_equal(result.fired[:, 0], [True, False, True, False])
    np.testing.assert_array_equal(result.fired[:, 1], [True, True, True, True])
    np.testing.assert_allclose(result.scores, [2.0, 1.0, 2.0, 1.0])


def test_when_conditions_are_anded() -> None:
    f = fac(
        "W",
        "conversations_12m",
        "<",
        6,
        when=(Condition("weeks_open", ">=", 52), Condition("job_goal", "==", 0)),
    )
    attrs = {
        "conversations_12m": np.array([2.0, 2.0, 2.0, 2.0, 8.0]),
        "weeks_open": np.array([60.0, 40.0, 60.0, NAN, 60.0]),
        "job_goal": np.array([0.0, 0.0, 1.0, 0.0, 0.0]),
    }
    np.testing.assert_array_equal(score([f], attrs).fired[:, 0], [True, False, False, False, False])


def test_empty_inputs() -> None:
    result = score([], {"weeks_open": np.array([1.0, 2.0])})
    assert result.fired.shape == (2, 0)
    np.testing.assert_array_equal(result.scores, [0.0, 0.0])
    result = score([fac("X", "weeks_open", ">", 1)], {"weeks_open": np.array([], dtype=float)})
    assert result.fired.shape == (0, 1)
    assert result.scores.shape == (0,)
    assert score([], {}).scores.shape == (0,)


def test_scoring_errors() -> None:
    with pytest.raises(KeyError, match="days_since_conversation"):
        score([fac("X", "days_since_conversation", ">", 1)], {"weeks_open": np.ones(2)})
    with pytest.raises(KeyError, match="scheme"):
        score([fac("X", "weeks_open", ">", 1, schemes=("fleksjob",))], {"weeks_open": np.ones(2)})
    with pytest.raises(ValueError, match="differ in length"):
        score(
            [fac("X", "weeks_open", ">", 1)],
            {"weeks_open": np.ones(2), "job_goal": np.ones(3)},
        )
    with pytest.raises(ValueError, match="1-d"):
        score([fac("X", "weeks_open", ">", 1)], {"weeks_open": np.ones((2, 2))})
    with pytest.raises(ValueError, match="invalid risk model"):
        score([fac("X", "weeks_open", ">", 1, weight=-1.0)], {"weeks_open": np.ones(2)})


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


def test_valid_factor_has_no_errors() -> None:
    for f in MODEL:
        assert validate_factor(f) == []
    assert validate_factor(fac("S", "scheme", "in", ("fleksjob",))) == []
    assert validate_factor(fac("S", "scheme", "==", "fleksjob")) == []
    assert validate_factor(fac("Z", "weeks_open", ">", 1, weight=0.0)) == []


@pytest.mark.parametrize(
    ("factor", "message"),
    [
        (fac("X", "alder", ">", 1), "Ukendt attribut »alder«"),
        (fac("X", "weeks_open", "=>", 1), "Ukendt operator »=>«"),
        (fac("X", "weeks_open", ">", "26"), "Værdien skal være et tal"),
        (fac("X", "weeks_open", ">", None), "Værdien skal være et tal"),
        (fac("X", "weeks_open", ">", True), "Værdien skal være et tal"),
        (fac("X", "weeks_open", ">", NAN), "endeligt tal"),
        (fac("X", "weeks_open", ">", math.inf), "endeligt tal"),
        (fac("X", "weeks_open", "missing", 3), "tager ingen værdi"),
        (fac("X", "weeks_open", "in", ("fleksjob",)), "kun bruges på ordning"),
        (fac("X", "scheme", "in", ()), "ikke-tom liste"),
        (fac("X", "scheme", "in", ("dagpenge",)), "Ukendt ordning »dagpenge«"),
        (fac("X", "scheme", ">", "fleksjob"), "kan ikke sammenlignes"),
        (fac("X", "scheme", "==", "dagpenge"), "Ukendt ordning »dagpenge«"),
        (fac("X", "scheme", "==", 3), "ordningskode"),
        (fac("X", "weeks_open", ">", 1, weight=-0.5), "Vægten"),
        (fac("X", "weeks_open", ">", 1, weight=NAN), "Vægten"),
        (fac("X", "weeks_open", ">", 1, weight=True), "Vægten skal være et tal"),
        (fac("X", "weeks_open", ">", 1, schemes=("dagpenge",)), "Ukendt ordning »dagpenge«"),
        (fac("X", "weeks_open", ">", 1, schemes=("fleksjob", "fleksjob")), "flere gange"),
        (fac("æ ø", "weeks_open", ">", 1), "Koden"),
        (fac("", "weeks_open", ">", 1), "Koden"),
        (
            fac("X", "weeks_open", ">", 1, when=(Condition("alder", ">", 1),)),
            "Ekstra betingelse 1: Ukendt attribut »alder«",
        ),
    ],
)
def test_validation_errors(factor: Factor, message: str) -> None:
    errors = validate_factor(factor)
    assert any(message in e for e in errors), errors


def test_validation_label_and_rationale() -> None:
    f = Factor(
        code="X",
        label=" ",
        attribute="weeks_open",
        operator=">",
        value=1.0,
        weight=1.0,
        rationale="",
    )
    errors = validate_factor(f)
    assert any("betegnelse" in e for e in errors)
    assert any("Begrundelsen" in e for e in errors)


def test_validate_factors_duplicate_codes() -> None:
    errors = validate_factors([MODEL[0], MODEL[0]])
    assert errors == ["A: Koden er brugt af flere faktorer."]


def test_operators_and_attributes_have_danish_text() -> None:
    assert set(OPERATORS) == {">=", ">", "<=", "<", "==", "!=", "missing", "in"}
    assert set(ATTRIBUTES) == {
        "weeks_open",
        "days_since_conversation",
        "conversations_12m",
        "days_to_reassessment",
        "caseworker_changes_12m",
        "job_goal",
        "cv_on_jobnet",
        "caseworker_tenure_months",
        "caseworker_caseload",
        "prior_findings",
        "open_followup_actions",
        "scheme",
    }
    assert all(text.strip() for text in [*ATTRIBUTES.values(), *OPERATORS.values()])
    assert condition_text(Condition("weeks_open", ">", 26.0)) == "Sagens varighed (uger) > 26"
    assert "Fleksjob" in condition_text(Condition("scheme", "in", ("fleksjob",)))
    assert "mangler" in condition_text(Condition("cv_on_jobnet", "missing"))


# ------------------------------------------------------------------------------------------
# Default model and files
# ------------------------------------------------------------------------------------------


def test_default_model_loads_and_validates() -> None:
    name, factors = load_default_model()
    assert name.strip()
    assert 8 <= len(factors) <= 10
    assert validate_factors(factors) == []
    codes = [f.code for f in factors]
    assert len(set(codes)) == len(codes)
    for f in factors:
        assert 0.5 <= f.weight <= 2.0, f.code
        assert len(f.rationale) > 40, f.code
    spec = load_model_file()
    assert spec.name == name and spec.description
    by_code = {f.code: f for f in factors}
    assert by_code["SDP_OVER_26_UGER"].schemes == ("sygedagpenge",)
    assert by_code["FAA_SAMTALER_12_MDR"].when == (Condition("weeks_open", ">=", 52.0),)


def test_default_model_scores_cases() -> None:
    _, factors = load_default_model()
    attrs = {a: np.full(3, NAN) for a in ATTRIBUTES if a not in CATEGORICAL_ATTRIBUTES}
    attrs["weeks_open"] = np.array([30.0, 30.0, 60.0])
    attrs["conversations_12m"] = np.array([NAN, NAN, 3.0])
    attrs["caseworker_tenure_months"] = np.array([24.0, 24.0, 24.0])
    attrs["caseworker_caseload"] = np.array([80.0, 80.0, 80.0])
    cases = {**attrs, "scheme": np.array(["sygedagpenge", "fleksjob", "jobafklaring"])}
    result = score(factors, cases)
    # Only "open > 26 weeks" fires for the sick-pay case; nothing for the fleksjob case;
    # "< 6 conversations on a case open >= 52 weeks" for the jobafklaring case.
    assert result.fired_codes(0) == ["SDP_OVER_26_UGER"]
    assert result.fired_codes(1) == []
    assert result.fired_codes(2) == ["FAA_SAMTALER_12_MDR"]


def test_model_file_errors(tmp_path: Path) -> None:
    p = tmp_path / "model.toml"
    p.write_text('name = "M"\n[[factors]]\ncode = "X"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="missing key"):
        load_model_file(p)
    p.write_text(
        'name = "M"\n[[factors]]\ncode = "X"\nlabel = "L"\nattribute = "alder"\n'
        'operator = ">"\nvalue = 1\nweight = 1\nrationale = "R"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="Ukendt attribut »alder«"):
        load_model_file(p)
    p.write_text('name = "M"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="at least one"):
        load_model_file(p)
    p.write_text("name = ", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot parse"):
        load_model_file(p)


# ------------------------------------------------------------------------------------------
# Serialisation
# ------------------------------------------------------------------------------------------


def test_round_trip_dicts() -> None:
    _, defaults = load_default_model()
    extra = [
        fac("S", "scheme", "in", ("fleksjob", "ledighedsydelse"), 0.5),
        fac("M", "cv_on_jobnet", "missing", None, 0.75, schemes=("kontanthjaelp",)),
        MODEL[2],
    ]
    for f in [*defaults, *extra]:
        d = factor_to_dict(f)
        again = factor_from_dict(json.loads(json.dumps(d)))
        assert again == f
        assert factor_to_dict(again) == d
    assert factor_to_dict(extra[0])["value"] == ["fleksjob", "ledighedsydelse"]


def test_from_dict_defaults_and_errors() -> None:
    f = factor_from_dict(
        {
            "code": "X",
            "label": "L",
            "attribute": "cv_on_jobnet",
            "operator": "missing",
            "weight": 1,
            "rationale": "R",
        }
    )
    assert f.value is None and f.schemes == () and f.when == () and f.weight == 1.0
    with pytest.raises(ValueError, match="unknown key"):
        factor_from_dict({**factor_to_dict(f), "vaegt": 2})
    with pytest.raises(ValueError, match="missing key"):
        factor_from_dict({"code": "X"})


# ------------------------------------------------------------------------------------------
# Property-based: score == fired @ weights, scores >= 0, matches a scalar reference
# ------------------------------------------------------------------------------------------

NUMERIC = sorted(a for a in ATTRIBUTES if a not in CATEGORICAL_ATTRIBUTES)
SCHEME_CODES = sorted(SCHEMES)

values_st = st.one_of(
    st.just(NAN), st.floats(-200, 200, allow_nan=False), st.sampled_from([0.0, 1.0, 6.0])
)


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    if draw(st.booleans()) and draw(st.booleans()):
        op = draw(st.sampled_from(["in", "==", "!=", "missing"]))
        if op == "in":
            value: object = tuple(
                draw(st.lists(st.sampled_from(SCHEME_CODES), min_size=1, max_size=3, unique=True))
            )
        elif op == "missing":
            value = None
        else:
            value = draw(st.sampled_from(SCHEME_CODES))
        return Condition("scheme", op, value)  # type: ignore[arg-type]
    attr = draw(st.sampled_from(NUMERIC))
    op = draw(st.sampled_from([">=", ">", "<=", "<", "==", "!=", "missing"]))
    value = None if op == "missing" else draw(st.sampled_from([0.0, 1.0, 6.0, 26.0, -3.5]))
    return Condition(attr, op, value)  # type: ignore[arg-type]


@st.composite
def factor_lists(draw: st.DrawFn) -> list[Factor]:
    n = draw(st.integers(0, 6))
    out = []
    for j in range(n):
        main = draw(conditions())
        out.append(
            Factor(
                code=f"F{j}",
                label="L",
                attribute=main.attribute,
                operator=main.operator,
                value=main.value,
                weight=draw(st.floats(0, 5, allow_nan=False)),
                rationale="R",
                schemes=tuple(
                    draw(st.lists(st.sampled_from(SCHEME_CODES), max_size=3, unique=True))
                ),
                when=tuple(draw(st.lists(conditions(), max_size=2))),
            )
        )
    return out


@st.composite
def case_tables(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(0, 25))
    table: dict[str, np.ndarray] = {
        a: np.array(draw(st.lists(values_st, min_size=n, max_size=n)), dtype=float) for a in NUMERIC
    }
    table["scheme"] = np.array(
        draw(st.lists(st.sampled_from([*SCHEME_CODES, ""]), min_size=n, max_size=n)),
        dtype=object,
    )
    return table


def _reference(c: Condition, row: dict[str, object]) -> bool:
    """Scalar, loop-based reference semantics (independent of the vectorised code)."""
    x = row[c.attribute]
    if c.attribute == "scheme":
        assert isinstance(x, str)
        if c.operator == "missing":
            return x == ""
        if x == "":
            return False
        if c.operator == "in":
            assert isinstance(c.value, tuple)
            return x in c.value
        return (x == c.value) if c.operator == "==" else (x != c.value)
    assert isinstance(x, float)
    if c.operator == "missing":
        return math.isnan(x)
    if math.isnan(x):
        return False
    v = c.value
    assert isinstance(v, float)
    return {
        ">=": x >= v,
        ">": x > v,
        "<=": x <= v,
        "<": x < v,
        "==": x == v,
        "!=": x != v,
    }[c.operator]


@settings(max_examples=150, deadline=None)
@given(factors=factor_lists(), cases=case_tables())
def test_property_scores(factors: list[Factor], cases: dict[str, np.ndarray]) -> None:
    result = score(factors, cases)
    n = len(cases["scheme"])
    weights = np.array([f.weight for f in factors], dtype=float)
    assert result.fired.shape == (n, len(factors))
    assert result.scores.shape == (n,)
    np.testing.assert_allclose(result.scores, (result.fired * weights).sum(axis=1), atol=1e-12)
    assert np.all(result.scores >= 0)
    assert np.all(np.isfinite(result.scores))
    for i in range(n):
        row = {a: (cases[a][i] if a == "scheme" else float(cases[a][i])) for a in cases}
        for j, f in enumerate(factors):
            expected = all(_reference(c, row) for c in f.conditions) and (
                not f.schemes or row["scheme"] in f.schemes
            )
            assert result.fired[i, j] == expected, (i, f)
