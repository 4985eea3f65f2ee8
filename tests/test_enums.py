"""Stored code values with their labels (``tilsyn.enums``)."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import CheckConstraint

import tilsyn.models  # noqa: F401  (every table on db.metadata)
from tilsyn.enums import LabelledEnum, LabelOf, one_of
from tilsyn.extensions import db


class Light(LabelledEnum):
    RED = "red", "Rød"
    AMBER = "amber light", "Gul"
    GREEN = "green", "Grøn"


def test_members_are_their_stored_strings():
    assert Light.AMBER == "amber light"
    assert str(Light.AMBER) == f"{Light.AMBER}" == Light.AMBER.value == "amber light"
    assert Light("green") is Light.GREEN
    assert {Light.RED: 1}["red"] == 1
    assert [m.value for m in Light] == ["red", "amber light", "green"]
    with pytest.raises(ValueError):
        Light("blue")


def test_labels_in_declaration_order():
    assert Light.RED.label == "Rød"
    assert list(Light.labels().items()) == [
        (Light.RED, "Rød"),
        (Light.AMBER, "Gul"),
        (Light.GREEN, "Grøn"),
    ]


def test_label_of_a_stored_value_tolerates_unknown_and_none():
    assert Light.label_of("green") == "Grøn"
    assert Light.label_of(Light.RED) == "Rød"
    assert Light.label_of("blue") == "blue"
    assert Light.label_of(None) == ""


def test_one_of_lists_the_values_in_order():
    class Plain(StrEnum):
        A = "a"
        B = "b"

    assert one_of("colour", Light) == "colour IN ('red', 'amber light', 'green')"
    assert one_of("x", Plain) == "x IN ('a', 'b')"


#: The CHECK texts as they were written out by hand (and as the migrations created them).
CHECKS = {
    ("plan_feedback_settings", "involvement"): (
        "involvement IN ('none', 'view', 'acknowledge', 'comment')"
    ),
    ("followup_actions", "status"): "status IN ('open', 'done', 'approved', 'cancelled')",
    ("followup_actions", "owner"): "owner IN ('caseworker', 'leader')",
    ("case_reviews", "status"): "status IN ('draft', 'completed')",
    ("review_answers", "outcome"): (
        "outcome IS NULL OR outcome IN ('in_order', 'not_in_order', 'not_applicable')"
    ),
    ("calibration_cases", "status"): "status IN ('assigned', 'draft', 'completed')",
    ("calibration_resolutions", "standing"): "standing IN ('first', 'second')",
}


@pytest.mark.parametrize(("table", "name"), sorted(CHECKS))
def test_model_check_constraints_keep_their_text(table, name):
    checks = {
        str(c.name).removeprefix(f"ck_{table}_"): str(c.sqltext)
        for c in db.metadata.tables[table].constraints
        if isinstance(c, CheckConstraint)
    }
    assert checks[name] == CHECKS[table, name]


def test_label_of_attribute_reads_the_stored_value():
    class Lamp:
        colour_label = LabelOf(Light, "colour")

        def __init__(self, colour: str | None) -> None:
            self.colour = colour

    assert Lamp("amber light").colour_label == "Gul"
    assert Lamp("blue").colour_label == "blue"
    assert Lamp(None).colour_label == ""
    assert isinstance(Lamp.__dict__["colour_label"], LabelOf)
    assert Lamp.colour_label is Lamp.__dict__["colour_label"]


def test_model_labels_render_in_the_ui_language(app):
    from flask_babel import force_locale

    from tilsyn.rounds.models import Round

    with app.test_request_context(), force_locale("en"):
        assert Round(status="in_review").status_label == "Under review"
        assert Round(status="gone").status_label == "gone"
