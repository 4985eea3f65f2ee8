"""The starter catalogue's data rules: where they are, that they are valid, and their checks."""

from __future__ import annotations

from typing import Any

import pytest

from tilsyn.catalogue.starter import load_starter, parse_catalogue
from tilsyn.risk.data_answers import parse_rule, rule_attributes, validate_rule

#: Control points whose fact the standard export holds, and the fields the rules read.
EXPECTED = {
    "JOBMAAL-01": ("job_goal",),
    "RETTID-02": ("weeks_open", "days_to_reassessment"),
    "RETTID-03": ("weeks_open", "conversations_12m"),
    "RETTID-04": ("weeks_open", "days_to_reassessment"),
    "CV-01": ("cv_on_jobnet",),
}


def test_starter_rules_are_valid_in_the_risk_rule_language() -> None:
    cat = load_starter()
    ruled = {cp.code: cp for cp in cat.control_points if cp.data_rule is not None}
    assert set(ruled) == set(EXPECTED)
    for code, cp in ruled.items():
        rule = parse_rule(cp.data_rule)
        options = {o.code for o in cat.scale(cp.scale_code).options}
        assert validate_rule(rule, options) == [], code
        assert rule_attributes(rule) == EXPECTED[code]


def _catalogue(rule: Any) -> dict[str, Any]:
    return {
        "scales": [
            {
                "code": "yn",
                "name": "Ja/Nej",
                "options": [
                    {"code": "ja", "label": "Ja", "outcome": "in_order"},
                    {"code": "nej", "label": "Nej", "outcome": "not_in_order"},
                ],
            }
        ],
        "themes": [
            {
                "code": "T",
                "name": "T",
                "control_points": [{"code": "T-01", "question": "?", "scale": "yn", "rule": rule}],
            }
        ],
    }


def test_a_good_rule_is_kept_as_data() -> None:
    rule = [
        {"when": [{"attribute": "cv_on_jobnet", "operator": "==", "value": 0}], "answer": "nej"}
    ]
    cat = parse_catalogue(_catalogue(rule))
    assert cat.control_point("T-01").data_rule == rule


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ([], "non-empty list"),
        ("cv = nej", "non-empty list"),
        ([{"when": [], "answer": "nej"}], "'when' must be a non-empty list"),
        ([{"when": [{"attribute": "cv_on_jobnet", "operator": "=="}]}], "missing 'answer'"),
        (
            [
                {
                    "when": [{"attribute": "cv_on_jobnet", "operator": "==", "value": 0}],
                    "answer": "maybe",
                }
            ],
            "answer 'maybe' is not an option of scale 'yn'",
        ),
        ([{"when": [{"operator": "==", "value": 0}], "answer": "nej"}], "missing 'attribute'"),
        ([{"when": ["cv == 0"], "answer": "nej"}], "must be a table"),
        ([{"when": [{"attribute": "a", "operator": "<", "x": 1}], "answer": "nej"}], "'x'"),
    ],
)
def test_bad_rules_are_refused_with_their_place(rule: Any, message: str) -> None:
    with pytest.raises(ValueError, match="T-01") as excinfo:
        parse_catalogue(_catalogue(rule))
    assert message in str(excinfo.value)
