"""Every audit action and object-type code written anywhere in ``tilsyn/`` has a Danish label.

The codes are read from the source: every call of ``record(session, actor, action, object_type,
...)`` (``tilsyn.audit.services.record``), with the string literals of its third and fourth
arguments (both branches of a conditional expression).
"""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from tests import factories
from tilsyn.audit.labels import ACTION_LABELS, OBJECT_TYPE_LABELS, action_label, object_type_label
from tilsyn.audit.services import record

SOURCE = Path(__file__).resolve().parents[1] / "tilsyn"


def _literals(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    return set()


def _codes() -> tuple[set[str], set[str]]:
    actions: set[str] = set()
    object_types: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "record" or len(node.args) < 4:
                continue
            actions |= _literals(node.args[2])
            object_types |= _literals(node.args[3])
    return actions, object_types


def test_every_recorded_code_has_a_label() -> None:
    actions, object_types = _codes()
    # The source scan finds what the features write (not an empty pass).
    assert {"view", "complete", "reopen", "approve"} <= actions
    assert {"case_review", "round_reviews", "round", "snapshot"} <= object_types
    assert sorted(actions - set(ACTION_LABELS)) == []
    assert sorted(object_types - set(OBJECT_TYPE_LABELS)) == []


def test_labels_are_danish_and_english_only_in_english(app: Flask) -> None:
    with app.test_request_context():
        assert action_label("complete") == "Afsluttet"
        assert object_type_label("case_review") == "Sagsgennemgang"
        assert object_type_label("round_reviews") == "Rundens gennemgange"
        with force_locale("en"):
            assert action_label("complete") == "Completed"
            assert object_type_label("case_review") == "Case review"


def test_audit_page_and_its_filters_in_danish(
    session, org: factories.Org, login_as, client: FlaskClient
) -> None:
    record(
        session, org.users["admin"], "complete", "case_review", 886, "Gennemgang af sag X afsluttet"
    )
    record(session, org.users["admin"], "view", "round_reviews", 35, "Viste 3 udtrukne sager")
    session.commit()
    login_as("admin")
    html = client.get("/revisionslog/").get_data(as_text=True)
    assert "Sagsgennemgang #886" in html and "Rundens gennemgange #35" in html
    assert "<td>Afsluttet</td>" in html
    for english in ("Complete<", "Case review", "Round reviews"):
        assert english not in html
    # The filter lists carry the labels, the codes stay the values.
    assert '<option value="case_review">Sagsgennemgang</option>' in html
    assert '<option value="complete">Afsluttet</option>' in html
    client.post("/sprog/en", data={"next": "/revisionslog/"})
    html = client.get("/revisionslog/").get_data(as_text=True)
    assert "Case review #886" in html and '<option value="complete">Completed</option>' in html
