"""Answers prefilled from the case export, and the override reasons they require."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.factories import AS_OF, Org, SampledCase, catalogue, items_of, make_draw, option_id
from tilsyn.cases.models import Case
from tilsyn.reviews.prefill import OVERRIDE_REASON_MAX, case_prefills, override_problems


def _setup(session: Session, org: Org):  # type: ignore[no-untyped-def]
    points = catalogue(session)
    draw = make_draw(
        session,
        org,
        [
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
            SampledCase(org.cw_a1, "kontanthjaelp", 0.5),
        ],
    )
    items = items_of(session, draw)
    for item, cv in zip(items, (True, False, None), strict=True):
        session.execute(update(Case).where(Case.id == item.case_id).values(cv_on_jobnet=cv))
    session.flush()
    return points, items


def test_prefill_follows_the_rule_and_skips_missing_fields(session: Session, org: Org) -> None:
    points, items = _setup(session, org)
    cv, borger = points["CV-01"], points["BORGER-01"]  # BORGER-01 has no rule
    yes = case_prefills(session, items[0], [cv, borger])
    assert set(yes) == {cv.id}
    assert yes[cv.id].option_id == option_id(cv, "ja")
    assert yes[cv.id].option_label == "Ja"
    assert yes[cv.id].as_of == AS_OF
    assert any("Cv tilgængeligt på Jobnet" in line for line in yes[cv.id].rule_lines)
    no = case_prefills(session, items[1], [cv])
    assert no[cv.id].option_id == option_id(cv, "nej")
    assert case_prefills(session, items[2], [cv]) == {}  # unknown CV: no prefill
    assert case_prefills(session, items[0], [borger]) == {}


def test_an_invalid_stored_rule_prefills_nothing(session: Session, org: Org) -> None:
    points, items = _setup(session, org)
    cv = points["CV-01"]
    cv.data_rule = [
        {"when": [{"attribute": "cv_on_jobnet", "operator": "==", "value": 1}], "answer": "x"}
    ]
    session.flush()
    assert case_prefills(session, items[0], [cv]) == {}


def test_override_needs_a_reason_on_completion(session: Session, org: Org) -> None:
    points, items = _setup(session, org)
    cv = points["CV-01"]
    prefills = case_prefills(session, items[0], [cv])
    ja, nej = option_id(cv, "ja"), option_id(cv, "nej")
    # confirmed: nothing to explain
    assert override_problems([cv], prefills, {cv.id: ja}, {}, complete=True) == []
    # overridden: a draft may wait, completion needs the reason
    assert override_problems([cv], prefills, {cv.id: nej}, {}, complete=False) == []
    (problem,) = override_problems([cv], prefills, {cv.id: nej}, {cv.id: "  "}, complete=True)
    assert problem.startswith("CV-01: ") and "forudfyldte" in problem
    assert (
        override_problems([cv], prefills, {cv.id: nej}, {cv.id: "Cv i sagen"}, complete=True) == []
    )
    (long,) = override_problems(
        [cv], prefills, {cv.id: nej}, {cv.id: "x" * (OVERRIDE_REASON_MAX + 1)}, complete=False
    )
    assert "for lang" in long
