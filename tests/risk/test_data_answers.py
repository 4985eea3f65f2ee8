"""Data rules of data-answered control points: parsing, validation, evaluation, words."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilsyn.risk.data_answers import (
    evaluate,
    parse_rule,
    parse_stored,
    rule_attributes,
    rule_lines,
    rule_to_data,
    validate_rule,
)

NAN = math.nan

CONVERSATIONS = [
    {"when": [{"attribute": "weeks_open", "operator": "<", "value": 52}], "answer": "ir"},
    {"when": [{"attribute": "conversations_12m", "operator": ">=", "value": 6}], "answer": "ja"},
    {"when": [{"attribute": "conversations_12m", "operator": "<", "value": 6}], "answer": "nej"},
]
OPTIONS = {"ja": "Ja", "nej": "Nej", "ir": "Ikke relevant"}


def _cond(attribute: str, operator: str, value: float) -> dict[str, object]:
    return {"attribute": attribute, "operator": operator, "value": value}


def _attrs(**arrays: list[float]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}


def test_ordered_clauses_and_missing_fields() -> None:
    rule = parse_rule(CONVERSATIONS)
    attrs = _attrs(
        weeks_open=[10, 60, 60, 60, NAN, 10],
        conversations_12m=[NAN, 6, 5, NAN, 8, 3],
    )
    got = evaluate(rule, attrs).tolist()
    # a young case is "not applicable" even when its count is unknown (first clause decides);
    # an unknown count on an older case gives no answer; an unknown age gives no answer
    assert got == ["ir", "ja", "nej", None, None, "ir"]


def test_no_clause_holds_gives_no_answer() -> None:
    rule = parse_rule(
        [{"when": [{"attribute": "cv_on_jobnet", "operator": "==", "value": 0}], "answer": "nej"}]
    )
    got = evaluate(rule, _attrs(cv_on_jobnet=[0, 1, NAN])).tolist()
    assert got == ["nej", None, None]


def test_conjunction_and_missing_operator() -> None:
    rule = parse_rule(
        [
            {
                "when": [
                    {"attribute": "days_to_reassessment", "operator": "missing"},
                    {"attribute": "weeks_open", "operator": ">=", "value": 22},
                ],
                "answer": "nej",
            },
            {
                "when": [{"attribute": "days_to_reassessment", "operator": "<", "value": 0}],
                "answer": "nej",
            },
            {
                "when": [{"attribute": "days_to_reassessment", "operator": ">=", "value": 0}],
                "answer": "ja",
            },
        ]
    )
    attrs = _attrs(days_to_reassessment=[NAN, NAN, -3, 0, 40], weeks_open=[30, 5, 30, 30, 30])
    # the "missing" test reads the absence itself; the later clauses see NaN as unknown
    assert evaluate(rule, attrs).tolist() == ["nej", None, "nej", "ja", "ja"]


def test_scheme_conditions() -> None:
    rule = parse_rule(
        [
            {
                "when": [
                    {"attribute": "scheme", "operator": "==", "value": "kontanthjaelp"},
                    {"attribute": "cv_on_jobnet", "operator": "==", "value": 1},
                ],
                "answer": "ja",
            }
        ]
    )
    attrs = {
        "scheme": np.array(["kontanthjaelp", "fleksjob", "", "kontanthjaelp"], dtype=object),
        "cv_on_jobnet": np.array([1, 1, 1, 0], dtype=np.float64),
    }
    assert evaluate(rule, attrs).tolist() == ["ja", None, None, None]


def test_round_trip_and_attributes() -> None:
    rule = parse_rule(CONVERSATIONS)
    assert rule_to_data(rule) == [
        {
            "when": [
                {
                    "attribute": c["when"][0]["attribute"],
                    "operator": c["when"][0]["operator"],
                    "value": float(c["when"][0]["value"]),
                }
            ],
            "answer": c["answer"],
        }
        for c in CONVERSATIONS
    ]
    assert parse_rule(rule_to_data(rule)) == rule
    assert rule_attributes(rule) == ("weeks_open", "conversations_12m")


def test_validation() -> None:
    assert validate_rule(parse_rule(CONVERSATIONS), OPTIONS) == []
    bad = parse_rule(
        [
            {"when": [{"attribute": "shoe_size", "operator": ">", "value": 40}], "answer": "ja"},
            {"when": [{"attribute": "weeks_open", "operator": "~", "value": 1}], "answer": "ja"},
            {"when": [{"attribute": "weeks_open", "operator": ">", "value": "x"}], "answer": "ja"},
            {"when": [{"attribute": "weeks_open", "operator": ">", "value": 1}], "answer": "maybe"},
        ]
    )
    problems = validate_rule(bad, OPTIONS)
    assert any(p.startswith("Regel 1: ") and "shoe_size" in p for p in problems)
    assert any(p.startswith("Regel 2: ") and "~" in p for p in problems)
    assert any(p.startswith("Regel 3: ") and "tal" in p for p in problems)
    assert any(p.startswith("Regel 4: ") and "maybe" in p for p in problems)
    assert len(problems) == 4


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"when": []},
        [{"when": [], "answer": "ja"}],
        [{"when": [{"attribute": "weeks_open", "operator": ">", "value": 1}]}],
        [
            {
                "when": [{"attribute": "weeks_open", "operator": ">", "value": 1}],
                "answer": "ja",
                "x": 1,
            }
        ],
        [{"when": ["weeks_open > 1"], "answer": "ja"}],
        [
            {
                "when": [{"attribute": "weeks_open", "operator": ">", "value": 1, "y": 2}],
                "answer": "ja",
            }
        ],
    ],
)
def test_bad_shapes(data: object) -> None:
    with pytest.raises(ValueError):
        parse_rule(data)
    assert parse_stored(data) is None


def test_in_words() -> None:
    lines = rule_lines(parse_rule(CONVERSATIONS), OPTIONS)
    assert len(lines) == 4
    assert lines[0] == "Hvis Sagens varighed (uger) < 52: »Ikke relevant«"
    assert "Antal samtaler de seneste 12 måneder" in lines[1] and lines[1].endswith("»Ja«")
    assert "intet forudfyldt svar" in lines[-1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.just(NAN), st.integers(0, 12).map(float)), min_size=1, max_size=30))
def test_threshold_rule_matches_a_loop(values: list[float]) -> None:
    rule = parse_rule(CONVERSATIONS[1:])
    got = evaluate(rule, _attrs(conversations_12m=values)).tolist()
    want = [None if math.isnan(v) else ("ja" if v >= 6 else "nej") for v in values]
    assert got == want
