"""Recording reviews: validation, completion, the round's status, reopening, audit, progress."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.factories import SampledCase, catalogue, items_of, make_draw, make_plan_row, make_round
from tests.factories import option_id as opt
from tilsyn.audit.models import AuditEvent
from tilsyn.catalogue.models import ScaleOption
from tilsyn.reviews.errors import ReviewAccessError, ReviewError
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.reviews.progress import round_cases, round_progress, totals
from tilsyn.reviews.recording import (
    NOTE_MAX,
    OVERALL_NOTE_MAX,
    applicable_points,
    open_review,
    reopen_review,
    review_form_items,
    save_review,
)
from tilsyn.rounds.models import RoundStatus


@pytest.fixture
def setup(session, org):
    """Plan for team A; the round asks JOBMAAL-01, SAMLET-01 (core) and RETTID-01 (rotating).

    Sampled: AAA sygedagpenge, AAA jobafklaring, AAB fleksjob.
    """
    cps = catalogue(session)
    draw = make_draw(
        session,
        org,
        [
            SampledCase(org.cw_a1, "sygedagpenge", 0.5),
            SampledCase(org.cw_a1, "jobafklaring", 0.25),
            SampledCase(org.cw_a2, "fleksjob", 1.0),
        ],
    )
    plan = make_plan_row(session, "Plan A", org.unit_a.id)
    points = [cps["JOBMAAL-01"], cps["SAMLET-01"], cps["RETTID-01"]]
    rnd = make_round(session, plan, draw, points)
    session.commit()
    return SimpleNamespace(
        cps=cps, draw=draw, plan=plan, rnd=rnd, items=items_of(session, draw), org=org
    )


def full_answers(s, item_index: int, **codes: str) -> dict[int, tuple[int | None, str]]:
    """Answers by control point code (``JOBMAAL_01="ja"``)."""
    out: dict[int, tuple[int | None, str]] = {}
    for key, option_code in codes.items():
        cp = s.cps[key.replace("_", "-")]
        out[cp.id] = (opt(cp, option_code), "")
    return out


def count(session, model) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_actions(session, object_type: str) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == object_type)
            .order_by(AuditEvent.id)
        )
    )


def test_form_items_follow_the_case_scheme_grouped_by_theme(session, setup):
    s = setup
    groups = review_form_items(session, s.rnd, s.items[1])  # jobafklaring
    assert [
        (g.theme.code, g.is_core, [fi.control_point.code for fi in g.items]) for g in groups
    ] == [
        ("JOBMAAL", True, ["JOBMAAL-01"]),
        ("SAMLET", True, ["SAMLET-01"]),
        ("RETTID", False, ["RETTID-01"]),
    ]
    sygedagpenge = review_form_items(session, s.rnd, s.items[0])
    assert [p.code for p in applicable_points(sygedagpenge)] == [
        "JOBMAAL-01",
        "SAMLET-01",
    ]
    # JOBMAAL-01 is not asked for fleksjob; SAMLET-01 (no schemes) is asked for every case.
    fleksjob = review_form_items(session, s.rnd, s.items[2])
    assert [p.code for p in applicable_points(fleksjob)] == ["SAMLET-01"]


def test_draft_saves_answers_and_notes_moves_round_to_review_and_is_audited(session, setup):
    s = setup
    leder = s.org.users["leder"]
    j, r = s.cps["JOBMAAL-01"], s.cps["RETTID-01"]
    review = save_review(
        session,
        leder,
        s.rnd.id,
        s.items[1].id,
        {j.id: (opt(j, "nej"), "  Intet konkret jobmål  "), r.id: (None, "Tjek mødedatoen")},
        "Fortrolig bemærkning",
        complete=False,
    )
    session.commit()
    assert review.status == ReviewStatus.DRAFT and review.completed_at is None
    assert review.reviewer_name == "leder" and review.caseworker_id == s.org.cw_a1.id
    answers = {a.control_point_id: a for a in review.answers}
    assert answers[j.id].outcome == "not_in_order" and answers[j.id].note == "Intet konkret jobmål"
    assert answers[r.id].option_id is None and answers[r.id].outcome is None
    assert review.overall_note == "Fortrolig bemærkning"
    session.refresh(s.rnd)
    assert s.rnd.status == RoundStatus.IN_REVIEW
    assert audit_actions(session, "case_review") == ["create"]
    assert audit_actions(session, "round") == ["status"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.object_type == "case_review"))
    assert event is not None and event.actor_name == "leder"
    # No free text of the case in the log (auditors read it).
    assert "jobmål" not in repr(event.details) and "Fortrolig" not in event.summary

    # Saving again replaces the answers: an answer left out is gone.
    save_review(
        session, leder, s.rnd.id, s.items[1].id, {j.id: (opt(j, "ja"), "")}, "", complete=False
    )
    session.commit()
    session.refresh(review)
    assert [(a.control_point_id, a.outcome) for a in review.answers] == [(j.id, "in_order")]
    assert audit_actions(session, "case_review") == ["create", "update"]
    assert audit_actions(session, "round") == ["status"]  # only the first review moves it


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("foreign_option", "JOBMAAL-01: svaret hører ikke til kontrolpunktets svarskala"),
        ("not_applicable_point", "stilles ikke for denne sag"),
        ("unknown_point", "Kontrolpunkt nr. 999999 stilles ikke"),
        ("missing_on_complete", "Mangler svar: SAMLET-01."),
        ("long_note", "SAMLET-01: bemærkningen er for lang"),
        ("long_overall", "Den samlede bemærkning er for lang"),
    ],
)
def test_bad_input_is_refused_with_danish_reason_and_nothing_written(
    session, setup, case, expected
):
    s = setup
    j, sa, r = s.cps["JOBMAAL-01"], s.cps["SAMLET-01"], s.cps["RETTID-01"]
    answers: dict[int, tuple[int | None, str]] = {
        j.id: (opt(j, "ja"), ""),
        sa.id: (opt(sa, "2"), ""),
    }
    overall, complete = "", False
    if case == "foreign_option":
        answers[j.id] = (opt(sa, "2"), "")  # an option of the 1–3 scale
    elif case == "not_applicable_point":
        answers[r.id] = (opt(r, "ja"), "")  # RETTID-01 is for jobafklaring only
    elif case == "unknown_point":
        answers[999999] = (1, "")
    elif case == "missing_on_complete":
        del answers[sa.id]
        complete = True
    elif case == "long_note":
        answers[sa.id] = (opt(sa, "2"), "x" * (NOTE_MAX + 1))
    elif case == "long_overall":
        overall = "x" * (OVERALL_NOTE_MAX + 1)
    with pytest.raises(ReviewError) as info:
        save_review(
            session, s.org.users["leder"], s.rnd.id, s.items[0].id, answers, overall, complete
        )
    assert expected in str(info.value)
    session.flush()
    assert count(session, CaseReview) == 0 and count(session, ReviewAnswer) == 0
    session.refresh(s.rnd)
    assert s.rnd.status == RoundStatus.DRAWN
    assert audit_actions(session, "case_review") == []


def test_round_must_be_drawn_or_in_review_and_item_in_its_current_draw(session, setup):
    s = setup
    leder = s.org.users["leder"]
    answers = full_answers(s, 0, JOBMAAL_01="ja")
    for status, message in (
        (RoundStatus.PLANNED, "kun planlagt"),
        (RoundStatus.CLOSED, "Runden er afsluttet"),
    ):
        s.rnd.status = status
        session.flush()
        with pytest.raises(ReviewError, match=message):
            save_review(session, leder, s.rnd.id, s.items[0].id, answers, "", False)
    s.rnd.status = RoundStatus.DRAWN
    other = make_draw(session, s.org, [SampledCase(s.org.cw_a1, "sygedagpenge", 0.5)], tag="b")
    foreign = items_of(session, other)[0]
    with pytest.raises(ReviewError, match="nuværende stikprøve"):
        save_review(session, leder, s.rnd.id, foreign.id, answers, "", False)
    # A replaced draw: reviews of its items no longer count, and its items cannot be reviewed.
    save_review(session, leder, s.rnd.id, s.items[0].id, answers, "", False)
    s.rnd.draw_id = other.id
    session.flush()
    assert [(p.sampled, p.completed, p.draft) for p in round_progress(session, s.rnd)] == [
        (1, 0, 0)
    ]
    with pytest.raises(ReviewError, match="nuværende stikprøve"):
        save_review(session, leder, s.rnd.id, s.items[0].id, answers, "", False)


def test_complete_then_locked_then_reopened_by_leader(session, setup):
    s = setup
    leder = s.org.users["leder"]
    item = s.items[1]  # jobafklaring: all three points apply
    answers = full_answers(s, 1, JOBMAAL_01="nej", SAMLET_01="1", RETTID_01="ir")
    review = save_review(session, leder, s.rnd.id, item.id, answers, "", complete=True)
    session.commit()
    assert review.status == ReviewStatus.COMPLETED and review.completed_at is not None
    scores = {a.control_point_id: (a.outcome, a.score) for a in review.answers}
    assert scores[s.cps["SAMLET-01"].id] == ("not_in_order", 1.0)
    assert scores[s.cps["RETTID-01"].id] == ("not_applicable", None)
    with pytest.raises(ReviewError, match="Genåbn den"):
        save_review(session, leder, s.rnd.id, item.id, answers, "", complete=False)

    # The outcome was copied: changing the scale later does not change the recorded finding.
    nej = session.get(ScaleOption, opt(s.cps["JOBMAAL-01"], "nej"))
    assert nej is not None
    nej.outcome = "in_order"
    session.flush()
    session.refresh(review)
    assert {a.control_point_id: a.outcome for a in review.answers}[s.cps["JOBMAAL-01"].id] == (
        "not_in_order"
    )
    session.rollback()

    reopen_review(session, leder, s.rnd.id, item.id)
    session.commit()
    session.refresh(review)
    assert review.status == ReviewStatus.DRAFT and review.completed_at is None
    assert audit_actions(session, "case_review") == ["complete", "reopen"]
    with pytest.raises(ReviewError, match="ikke afsluttet"):
        reopen_review(session, leder, s.rnd.id, item.id)
    # Completed again, then the round is closed: reopening needs the round reopened first.
    save_review(session, leder, s.rnd.id, item.id, answers, "", complete=True)
    s.rnd.status = RoundStatus.CLOSED
    session.flush()
    with pytest.raises(ReviewError, match="Sæt runden under gennemgang igen"):
        reopen_review(session, leder, s.rnd.id, item.id)


def test_only_leaders_of_the_caseworkers_unit_and_admins_may_record(session, org):
    cps = catalogue(session)
    draw = make_draw(
        session,
        org,
        [SampledCase(org.cw_a1, "sygedagpenge", 0.5), SampledCase(org.cw_b1, "sygedagpenge", 0.5)],
    )
    whole = make_plan_row(session, "Hele org", None)
    rnd = make_round(session, whole, draw, [cps["JOBMAAL-01"]])
    session.commit()
    item_a, item_b = items_of(session, draw)
    j = cps["JOBMAAL-01"]
    answers = {j.id: (opt(j, "ja"), "")}
    with pytest.raises(ReviewAccessError):
        save_review(session, org.users["leder"], rnd.id, item_b.id, answers, "", False)
    for username in ("sagsbehandler", "direktoer", "revisor"):
        with pytest.raises(ReviewAccessError):
            save_review(session, org.users[username], rnd.id, item_a.id, answers, "", False)
        with pytest.raises(ReviewAccessError):
            open_review(session, org.users[username], rnd.id, item_a.id)
    assert count(session, CaseReview) == 0
    save_review(session, org.users["leder"], rnd.id, item_a.id, answers, "", True)
    save_review(session, org.users["admin"], rnd.id, item_b.id, answers, "", False)
    with pytest.raises(ReviewAccessError):
        reopen_review(session, org.users["leder"], rnd.id, item_b.id)
    session.commit()
    # Progress: all caseworkers for the admin, own units for the leader.
    everyone = round_progress(session, rnd)
    assert [(p.caseworker.initials, p.sampled, p.completed, p.draft) for p in everyone] == [
        ("AAA", 1, 1, 0),
        ("BBA", 1, 0, 1),
    ]
    own = round_progress(session, rnd, org.users["leder"])
    assert [p.caseworker.initials for p in own] == ["AAA"]


def test_progress_counts_sampled_completed_draft_and_remaining(session, setup):
    s = setup
    leder = s.org.users["leder"]
    save_review(
        session,
        leder,
        s.rnd.id,
        s.items[0].id,
        full_answers(s, 0, JOBMAAL_01="ja", SAMLET_01="2"),
        "",
        complete=True,
    )
    save_review(
        session, leder, s.rnd.id, s.items[1].id, full_answers(s, 1, JOBMAAL_01="ja"), "", False
    )
    session.commit()
    progress = round_progress(session, s.rnd)
    rows = [
        (p.caseworker.initials, p.sampled, p.completed, p.draft, p.remaining, p.not_started)
        for p in progress
    ]
    assert rows == [("AAA", 2, 1, 1, 1, 0), ("AAB", 1, 0, 0, 1, 1)]
    total = totals(progress)
    assert (total.sampled, total.completed, total.draft, total.remaining) == (3, 1, 1, 2)


def test_views_of_case_level_data_are_audited(session, setup):
    s = setup
    leder = s.org.users["leder"]
    page = open_review(session, leder, s.rnd.id, s.items[0].id)
    assert page.review is None and page.editable
    groups = round_cases(session, leder, s.rnd)
    assert [len(g.lines) for g in groups] == [2, 1]
    session.commit()
    assert audit_actions(session, "case_review") == ["view"]
    assert audit_actions(session, "round_reviews") == ["view"]
