"""Releasing feedback, acknowledging, the thread, follow-up actions and their access rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.feedback.factories import TODAY, setup_round
from tilsyn.audit.models import AuditEvent
from tilsyn.errors import ServiceAccessError
from tilsyn.feedback import actions, figures, pages, plans, release
from tilsyn.feedback.common import FeedbackError
from tilsyn.feedback.models import ActionStatus, FeedbackRelease, Owner
from tilsyn.notifications.models import OutboxMessage
from tilsyn.reviews import recording as reviews


@pytest.fixture
def s(session, org):
    return setup_round(session, org)


def _events(session, action: str, object_type: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_type == object_type)
        )
        or 0
    )


def test_nothing_is_shown_before_release_and_release_is_idempotent(session, s):
    cw_user = s.org.users["sagsbehandler"]
    assert pages.my_feedback(session, cw_user) == []
    leader = s.org.users["leder"]
    result = release.release(session, leader, s.round.id, caseworker_id=s.org.cw_a1.id)
    assert (result.released, result.already) == (2, 0)
    again = release.release(session, leader, s.round.id, caseworker_id=s.org.cw_a1.id)
    assert (again.released, again.already) == (0, 2)
    assert session.scalar(select(func.count()).select_from(FeedbackRelease)) == 2
    # One notice for the caseworker, none for the second (no case content in it).
    mails = session.scalars(select(OutboxMessage)).all()
    assert [m.to for m in mails] == ["aaa@test.example"]
    assert mails[0].subject == "Du har fået feedback på 2 sager i tilsynsrunde 2026-K3"
    assert s.items
    assert all(item.case_ref not in mails[0].body for item in s.items)
    groups = pages.my_feedback(session, cw_user)
    refs = {line.case_ref for g in groups for line in g.lines}
    assert refs == {s.items[0].case_ref, s.items[1].case_ref}
    assert _events(session, "release", "feedback") == 1


def test_a_leader_cannot_release_another_units_reviews(session, s):
    with pytest.raises(ServiceAccessError):
        release.release(session, s.org.users["leder"], s.round.id, caseworker_id=s.org.cw_b1.id)


def test_reopened_review_is_marked_changed_and_can_be_released_again(session, s):
    admin = s.org.users["admin"]
    release.release(session, admin, s.round.id, review_ids=[s.reviews[0].id])
    rel = session.scalar(select(FeedbackRelease))
    assert not rel.changed
    reviews.reopen_review(session, admin, s.round.id, s.items[0].id)
    session.refresh(rel)
    assert rel.changed
    line = pages.my_feedback(session, s.org.users["sagsbehandler"])[0].lines[0]
    assert line.changed
    # Not completed again: nothing to release.
    assert release.release(session, admin, s.round.id, review_ids=[s.reviews[0].id]).released == 0


def test_internal_notes_never_reach_the_caseworker(session, s):
    cp = s.points["SAMLET-01"]
    release.release(
        session,
        s.org.users["leder"],
        s.round.id,
        review_ids=[s.reviews[0].id],
        internal_point_ids={s.reviews[0].id: [cp.id]},
        overall_internal=[s.reviews[0].id],
    )
    rel = session.scalar(select(FeedbackRelease))
    detail = pages.feedback_detail(session, s.org.users["sagsbehandler"], rel.id)
    notes = {p.code: p.note for p in detail.points}
    assert notes["SAMLET-01"] == "" and notes["JOBMAAL-01"] == "Jobmålet mangler"
    assert detail.overall_note == ""
    assert rel.seen_at is not None  # opening it marks it read
    # The question's help text and legal reference are shown.
    point = next(p for p in detail.points if p.code == "JOBMAAL-01")
    assert point.help_text and point.outcome == "not_in_order"


def test_caseworker_never_sees_another_caseworkers_feedback(session, s):
    release.release(session, s.org.users["admin"], s.round.id)
    other = session.scalar(
        select(FeedbackRelease).where(FeedbackRelease.caseworker_id == s.org.cw_b1.id)
    )
    with pytest.raises(ServiceAccessError):
        pages.feedback_detail(session, s.org.users["sagsbehandler"], other.id)
    with pytest.raises(ServiceAccessError):
        release.acknowledge(session, s.org.users["sagsbehandler"], other.id)
    with pytest.raises(ServiceAccessError):
        release.add_comment(session, s.org.users["sagsbehandler"], other.id, "Hej")


def test_acknowledge_once_and_comment_only_when_the_plan_allows(session, s):
    release.release(session, s.org.users["leder"], s.round.id, review_ids=[s.reviews[0].id])
    rel = session.scalar(select(FeedbackRelease))
    user = s.org.users["sagsbehandler"]
    release.acknowledge(session, user, rel.id)
    with pytest.raises(FeedbackError, match="allerede kvitteret"):
        release.acknowledge(session, user, rel.id)
    assert _events(session, "acknowledge", "feedback") == 1
    with pytest.raises(FeedbackError, match="kommentere"):
        release.add_comment(session, user, rel.id, "Tak")
    plans.save_settings(session, s.org.users["leder"], s.round.plan_id, "comment", 1)
    release.add_comment(session, user, rel.id, "Jobmålet er nu registreret.")
    release.add_comment(session, s.org.users["leder"], rel.id, "Tak, godt.")
    with pytest.raises(FeedbackError, match="udfyldes"):
        release.add_comment(session, user, rel.id, "   ")
    assert [c.author_kind for c in rel.comments] == ["caseworker", "leader"]
    # The leader is told about the comment, the caseworker about the answer.
    subjects = [
        m.subject for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]
    assert "Ny kommentar til feedback i tilsynsrunde 2026-K3" in subjects
    assert "Din leder har svaret på feedback i tilsynsrunde 2026-K3" in subjects


def test_involvement_none_refuses_release_and_view_refuses_acknowledgement(session, s):
    leader = s.org.users["leder"]
    plans.save_settings(session, leader, s.round.plan_id, "view", 0)
    release.release(session, leader, s.round.id, review_ids=[s.reviews[0].id])
    rel = session.scalar(select(FeedbackRelease))
    with pytest.raises(FeedbackError, match="kvittering"):
        release.acknowledge(session, s.org.users["sagsbehandler"], rel.id)
    plans.save_settings(session, leader, s.round.plan_id, "none", 0)
    with pytest.raises(FeedbackError, match="ikke sagsbehandlerne adgang"):
        release.release(session, leader, s.round.id)
    assert pages.my_feedback(session, s.org.users["sagsbehandler"]) == []
    with pytest.raises(FeedbackError, match=r"helt tal"):
        plans.save_settings(session, leader, s.round.plan_id, "comment", -1)


def _action(session, s, **kw):
    args = {
        "description": "Registrér jobmålet",
        "owner": Owner.CASEWORKER.value,
        "due_date": TODAY + timedelta(days=30),
        "today": TODAY,
        "control_point_id": s.points["JOBMAAL-01"].id,
    }
    args.update(kw)
    return actions.create_action(session, s.org.users["leder"], s.reviews[0].id, **args)


def test_action_due_date_and_finding_are_checked(session, s):
    with pytest.raises(FeedbackError, match="efter i dag"):
        _action(session, s, due_date=TODAY - timedelta(days=1))
    with pytest.raises(FeedbackError, match="et år"):
        _action(session, s, due_date=TODAY + timedelta(days=800))
    with pytest.raises(FeedbackError, match="ikke i orden"):
        _action(session, s, control_point_id=s.points["SAMLET-01"].id)
    with pytest.raises(FeedbackError, match="ejer"):
        _action(session, s, owner="nogen")
    with pytest.raises(ServiceAccessError):
        actions.create_action(
            session,
            s.org.users["leder"],
            s.reviews[2].id,  # BBA, Team B
            description="x",
            owner="caseworker",
            due_date=TODAY + timedelta(days=3),
            today=TODAY,
        )
    action = _action(session, s)
    assert action.status == ActionStatus.OPEN and action.case_ref == s.items[0].case_ref
    assert action.caseworker_id == s.org.cw_a1.id


def test_action_lifecycle_with_one_effect_per_change(session, s):
    action = _action(session, s)
    cw = s.org.users["sagsbehandler"]
    other_cw = s.org.users["sagsbehandler2"]
    leader = s.org.users["leder"]
    with pytest.raises(ServiceAccessError):
        actions.mark_done(session, other_cw, action.id, "Gjort")
    with pytest.raises(FeedbackError, match=r"godkend|ændres"):
        actions.approve(session, leader, action.id, TODAY)  # not done yet
    actions.mark_done(session, cw, action.id, "Jobmålet er registreret")
    with pytest.raises(FeedbackError, match="Udført"):
        actions.mark_done(session, cw, action.id, "Igen")
    actions.reopen(session, leader, action.id, "Jobmålet er ikke konkret nok")
    assert action.status == ActionStatus.OPEN and action.reopen_note
    actions.mark_done(session, cw, action.id, "Nu konkret")
    actions.approve(session, leader, action.id, TODAY)
    with pytest.raises(FeedbackError):
        actions.approve(session, leader, action.id, TODAY)
    assert action.status == ActionStatus.APPROVED and action.closed_on == TODAY
    with pytest.raises(FeedbackError):
        actions.cancel(session, leader, action.id, "for sent", TODAY)
    second = _action(session, s)
    with pytest.raises(FeedbackError, match="Begrundelsen"):
        actions.cancel(session, leader, second.id, "", TODAY)
    actions.cancel(session, leader, second.id, "Sagen er lukket", TODAY)
    assert second.status == ActionStatus.CANCELLED
    assert _events(session, "status", "followup_action") == 5


def test_deactivated_caseworkers_actions_go_to_the_leader(session, s):
    action = _action(session, s)
    leader = s.org.users["leder"]
    with pytest.raises(FeedbackError, match="Kun ejeren"):
        actions.mark_done(session, leader, action.id, "x")  # the caseworker owns it
    s.org.cw_a1.active = False
    session.flush()
    from tilsyn.feedback import notices

    assert notices.action_owners(session, action) == [leader]
    actions.mark_done(session, leader, action.id, "Overtaget og rettet")
    assert action.status == ActionStatus.DONE


def test_a_caseworker_who_moved_unit_keeps_their_history(session, s):
    _action(session, s)
    release.release(session, s.org.users["leder"], s.round.id, caseworker_id=s.org.cw_a1.id)
    s.org.cw_a1.unit = s.org.unit_b
    session.flush()
    user = s.org.users["sagsbehandler"]
    assert len(pages.my_actions(session, user, TODAY)) == 1
    assert sum(len(g.lines) for g in pages.my_feedback(session, user)) == 2
    # The Team A leader no longer sees them; the Team B (admin) side does.
    filters = pages.ActionFilter()
    assert pages.leader_actions(session, s.org.users["leder"], filters, TODAY) == []
    assert len(pages.leader_actions(session, s.org.users["admin"], filters, TODAY)) == 1


def test_leader_filters_and_director_counts(session, s):
    open_action = _action(session, s, due_date=TODAY + timedelta(days=2))
    done = _action(session, s)
    actions.mark_done(session, s.org.users["sagsbehandler"], done.id, "Gjort")
    leader = s.org.users["leder"]
    later = TODAY + timedelta(days=10)
    lines = pages.leader_actions(session, leader, pages.ActionFilter(overdue=True), later)
    assert [line.action.id for line in lines] == [open_action.id]
    lines = pages.leader_actions(session, leader, pages.ActionFilter(status="done"), later)
    assert [line.action.id for line in lines] == [done.id]
    lines = pages.leader_actions(
        session, leader, pages.ActionFilter(point_code="JOBMAAL-01"), later
    )
    assert len(lines) == 2
    counts = {
        c.unit: c
        for c in figures.team_counts(session, s.org.users["direktoer"], TODAY, later, later)
    }
    assert (counts["Team A"].open, counts["Team A"].overdue) == (2, 1)
    assert counts["Team B"].open == 0


def test_two_sessions_acknowledging_and_approving_at_once_have_one_effect(session, s):
    """A second request that loaded the row before the first one committed is refused."""
    from sqlalchemy.orm import Session as OrmSession

    from tilsyn.auth.models import User
    from tilsyn.extensions import db

    release.release(session, s.org.users["leder"], s.round.id, review_ids=[s.reviews[0].id])
    action = _action(session, s)
    actions.mark_done(session, s.org.users["sagsbehandler"], action.id, "Gjort")
    session.commit()
    rel = session.scalar(select(FeedbackRelease))
    with OrmSession(db.engine) as other:
        other_rel = other.get(FeedbackRelease, rel.id)
        other_action = other.get(type(action), action.id)
        assert other_rel.acknowledged_at is None and other_action.status == "done"
        # The first request acknowledges and approves, and commits.
        release.acknowledge(session, s.org.users["sagsbehandler"], rel.id)
        actions.approve(session, s.org.users["leder"], action.id, TODAY)
        session.commit()
        # The second, with its stale rows, does the same: refused, nothing written twice.
        cw = other.get(User, s.org.users["sagsbehandler"].id)
        leader = other.get(User, s.org.users["admin"].id)
        with pytest.raises(FeedbackError):
            release.acknowledge(other, cw, rel.id)
        with pytest.raises(FeedbackError):
            actions.approve(other, leader, action.id, TODAY)
        other.rollback()
    assert _events(session, "acknowledge", "feedback") == 1
    assert _events(session, "status", "followup_action") == 2  # done, approved


def test_two_sessions_releasing_the_same_review_store_one_release(session, s):
    """A second release after the first committed does nothing; two inserts at once (both
    checks passed before either committed) are settled by the unique release per review."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session as OrmSession

    from tilsyn.auth.models import User
    from tilsyn.extensions import db

    release.release(session, s.org.users["leder"], s.round.id, review_ids=[s.reviews[0].id])
    session.commit()
    with OrmSession(db.engine) as other:
        leader = other.get(User, s.org.users["leder"].id)
        again = release.release(other, leader, s.round.id, review_ids=[s.reviews[0].id])
        assert (again.released, again.already) == (0, 1)
        other.add(
            FeedbackRelease(
                review_id=s.reviews[0].id,
                round_id=s.round.id,
                caseworker_id=s.org.cw_a1.id,
                released_by_name=leader.username,
            )
        )
        with pytest.raises(IntegrityError):
            other.flush()
        other.rollback()
    assert session.scalar(select(func.count()).select_from(FeedbackRelease)) == 1
