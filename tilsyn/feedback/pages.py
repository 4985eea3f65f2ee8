"""What the feedback and follow-up pages show, computed here (templates hold no logic).

Every page with case-level data records its view in the audit log. Caseworkers get their own
releases and actions only; leaders those of the caseworkers in their units; the overview for
directors holds counts per team only; the register for auditors holds dates and statuses, no
free text, no names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, Outcome
from tilsyn.errors import get_or_raise
from tilsyn.feedback.common import (
    FeedbackAccessError,
    FeedbackError,
    can_manage,
    involvement,
    round_label,
)
from tilsyn.feedback.models import (
    CLOSED_STATUSES,
    ActionStatus,
    FeedbackComment,
    FeedbackRelease,
    FollowUpAction,
    Involvement,
)
from tilsyn.feedback.release import own_release
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker
from tilsyn.permissions import caseworker_filter
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.rounds.models import Round

# --------------------------------------------------------------------------------------------
# The caseworker: Min feedback
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackPoint:
    code: str
    theme: str
    question: str
    help_text: str
    legal_reference: str | None
    answer: str
    outcome: str | None
    outcome_label: str
    note: str


@dataclass(frozen=True)
class FeedbackLine:
    release: FeedbackRelease
    case_ref: str
    findings: int
    unread: bool
    changed: bool


@dataclass
class RoundFeedback:
    round: Round
    involvement: Involvement
    lines: list[FeedbackLine] = field(default_factory=list)


def _visible_releases(session: Session, caseworker_id: int) -> list[FeedbackRelease]:
    releases = session.scalars(
        select(FeedbackRelease)
        .where(FeedbackRelease.caseworker_id == caseworker_id)
        .options(selectinload(FeedbackRelease.review).selectinload(CaseReview.answers))
        .order_by(FeedbackRelease.released_at.desc(), FeedbackRelease.id)
    ).all()
    out = []
    for rel in releases:
        rnd = session.get(Round, rel.round_id)
        if rnd is not None and involvement(session, rnd) is not Involvement.NONE:
            out.append(rel)
    return out


def my_feedback(session: Session, actor: User) -> list[RoundFeedback]:
    """The actor's (a caseworker's) released reviews per round, newest first; audited."""
    if actor.caseworker_id is None:
        return []
    groups: dict[int, RoundFeedback] = {}
    for rel in _visible_releases(session, actor.caseworker_id):
        rnd = session.get(Round, rel.round_id)
        assert rnd is not None
        group = groups.setdefault(rnd.id, RoundFeedback(rnd, involvement(session, rnd)))
        group.lines.append(
            FeedbackLine(
                rel,
                rel.review.draw_item.case_ref,
                sum(1 for a in rel.review.answers if a.outcome == Outcome.NOT_IN_ORDER),
                rel.seen_at is None,
                rel.changed,
            )
        )
    out = sorted(groups.values(), key=lambda g: g.round.period_start, reverse=True)
    audit.record(
        session,
        actor,
        "view",
        "own_feedback",
        actor.caseworker_id,
        f"Viste egen feedback ({sum(len(g.lines) for g in out)} gennemgange)",
    )
    return out


def unread_count(session: Session, actor: User) -> int:
    """Released, visible feedback the caseworker has not opened yet (start page box)."""
    if actor.caseworker_id is None:
        return 0
    return sum(1 for r in _visible_releases(session, actor.caseworker_id) if r.seen_at is None)


@dataclass(frozen=True)
class FeedbackDetail:
    release: FeedbackRelease
    round: Round
    involvement: Involvement
    case_ref: str
    reviewer_name: str
    completed_at: object
    points: list[FeedbackPoint]
    overall_note: str
    comments: list[FeedbackComment]
    actions: list[FollowUpAction]
    changed: bool
    can_acknowledge: bool
    can_comment: bool


def _points(review: CaseReview, internal: set[int]) -> list[FeedbackPoint]:
    answers = sorted(
        review.answers, key=lambda a: (a.control_point.theme.position, a.control_point.code)
    )
    return [
        FeedbackPoint(
            code=a.control_point.code,
            theme=a.control_point.theme.name,
            question=a.control_point.question,
            help_text=a.control_point.help_text,
            legal_reference=a.control_point.legal_reference,
            answer=a.option.label if a.option is not None else "",
            outcome=a.outcome,
            outcome_label=a.outcome_label,
            note="" if a.control_point_id in internal else a.note,
        )
        for a in answers
    ]


def _record_view(
    session: Session, actor: User, release_id: int | None, review: CaseReview, rnd: Round
) -> str:
    """Audit a view of one review's feedback; returns the case reference shown."""
    case_ref = review.draw_item.case_ref
    audit.record(
        session,
        actor,
        "view",
        "feedback",
        release_id,
        f"Viste feedback på sag {case_ref} ({review.caseworker.initials}) i {round_label(rnd)}",
        {"round_id": rnd.id, "review_id": review.id, "case_ref": case_ref},
    )
    return case_ref


def feedback_detail(session: Session, actor: User, release_id: int) -> FeedbackDetail:
    """One released review as its caseworker sees it (opening it marks it read); audited."""
    rel = own_release(session, actor, release_id)
    if rel.seen_at is None:
        rel.seen_at = utcnow()
    rnd = session.get(Round, rel.round_id)
    assert rnd is not None
    inv = involvement(session, rnd)
    review = rel.review
    case_ref = _record_view(session, actor, rel.id, review, rnd)
    session.flush()
    actions = list(
        session.scalars(
            select(FollowUpAction)
            .where(FollowUpAction.review_id == review.id)
            .order_by(FollowUpAction.id)
        )
    )
    return FeedbackDetail(
        release=rel,
        round=rnd,
        involvement=inv,
        case_ref=case_ref,
        reviewer_name=review.reviewer_name,
        completed_at=review.completed_at,
        points=_points(review, set(rel.internal_point_ids or [])),
        overall_note="" if rel.overall_note_internal else review.overall_note,
        comments=list(rel.comments),
        actions=actions,
        changed=rel.changed,
        can_acknowledge=rel.acknowledged_at is None
        and inv in (Involvement.ACKNOWLEDGE, Involvement.COMMENT),
        can_comment=inv is Involvement.COMMENT,
    )


# --------------------------------------------------------------------------------------------
# Actions lists
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionLine:
    action: FollowUpAction
    round_label: str
    point_code: str | None
    overdue: bool
    initials: str


def _lines(session: Session, actions: list[FollowUpAction], today: date) -> list[ActionLine]:
    codes = {
        cp.id: cp.code
        for cp in session.scalars(
            select(ControlPoint).where(
                ControlPoint.id.in_({a.control_point_id for a in actions if a.control_point_id})
            )
        )
    }
    rounds = {
        r.id: r
        for r in session.scalars(
            select(Round).where(Round.id.in_({a.round_id for a in actions if a.round_id}))
        )
    }
    return [
        ActionLine(
            a,
            round_label(rounds[a.round_id]) if a.round_id in rounds else "",
            codes.get(a.control_point_id) if a.control_point_id else None,
            a.overdue_on(today),
            a.caseworker.initials,
        )
        for a in actions
    ]


def _order(stmt):  # type: ignore[no-untyped-def]
    return stmt.order_by(
        FollowUpAction.status.in_([s.value for s in CLOSED_STATUSES]),
        FollowUpAction.due_date,
        FollowUpAction.id,
    )


def my_actions(session: Session, actor: User, today: date) -> list[ActionLine]:
    """The caseworker's own actions (every status); audited."""
    if actor.caseworker_id is None:
        return []
    actions = list(
        session.scalars(
            _order(
                select(FollowUpAction).where(FollowUpAction.caseworker_id == actor.caseworker_id)
            )
        )
    )
    audit.record(
        session,
        actor,
        "view",
        "own_actions",
        actor.caseworker_id,
        f"Viste {len(actions)} egne opfølgningspunkter",
    )
    return _lines(session, actions, today)


@dataclass(frozen=True)
class ActionFilter:
    status: str = ""
    overdue: bool = False
    caseworker_id: int | None = None
    point_code: str = ""


def leader_actions(
    session: Session, actor: User, filters: ActionFilter, today: date
) -> list[ActionLine]:
    """Actions of the caseworkers in the actor's units (all for admin), filtered; audited."""
    stmt = (
        select(FollowUpAction)
        .join(Caseworker, FollowUpAction.caseworker_id == Caseworker.id)
        .where(caseworker_filter(actor))
    )
    if filters.status:
        stmt = stmt.where(FollowUpAction.status == filters.status)
    if filters.overdue:
        stmt = stmt.where(
            FollowUpAction.status == ActionStatus.OPEN.value, FollowUpAction.due_date < today
        )
    if filters.caseworker_id is not None:
        stmt = stmt.where(FollowUpAction.caseworker_id == filters.caseworker_id)
    if filters.point_code:
        stmt = stmt.join(ControlPoint, FollowUpAction.control_point_id == ControlPoint.id).where(
            ControlPoint.code == filters.point_code
        )
    actions = list(session.scalars(_order(stmt)))
    audit.record(
        session, actor, "view", "followup_actions", None, f"Viste {len(actions)} opfølgningspunkter"
    )
    return _lines(session, actions, today)


def filter_choices(session: Session, actor: User) -> tuple[list[Caseworker], list[str]]:
    caseworkers = list(
        session.scalars(
            select(Caseworker).where(caseworker_filter(actor)).order_by(Caseworker.initials)
        )
    )
    codes = sorted(
        {
            code
            for (code,) in session.execute(
                select(ControlPoint.code)
                .join(FollowUpAction, FollowUpAction.control_point_id == ControlPoint.id)
                .join(Caseworker, FollowUpAction.caseworker_id == Caseworker.id)
                .where(caseworker_filter(actor))
            )
        }
    )
    return caseworkers, codes


# --------------------------------------------------------------------------------------------
# The leader: a round's feedback, one review's feedback
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFeedbackLine:
    review: CaseReview
    case_ref: str
    release: FeedbackRelease | None
    comments: int
    open_actions: int


@dataclass
class CaseworkerFeedback:
    caseworker: Caseworker
    lines: list[ReviewFeedbackLine] = field(default_factory=list)

    @property
    def releasable(self) -> int:
        return sum(
            1
            for line in self.lines
            if line.review.status == ReviewStatus.COMPLETED
            and (line.release is None or line.release.changed)
        )


def round_feedback(session: Session, actor: User, rnd: Round) -> list[CaseworkerFeedback]:
    """The round's reviews per caseworker (actor's units) with release, acknowledgement,
    comments and open actions; audited."""
    reviews = session.scalars(
        select(CaseReview)
        .join(Caseworker, CaseReview.caseworker_id == Caseworker.id)
        .where(CaseReview.round_id == rnd.id, caseworker_filter(actor))
        .options(selectinload(CaseReview.caseworker), selectinload(CaseReview.draw_item))
        .order_by(Caseworker.initials, CaseReview.id)
    ).all()
    ids = [r.id for r in reviews]
    releases = {
        r.review_id: r
        for r in session.scalars(select(FeedbackRelease).where(FeedbackRelease.review_id.in_(ids)))
    }
    comment_counts = dict(
        session.execute(
            select(FeedbackRelease.review_id, func.count(FeedbackComment.id))
            .join(FeedbackComment, FeedbackComment.release_id == FeedbackRelease.id)
            .where(FeedbackRelease.review_id.in_(ids))
            .group_by(FeedbackRelease.review_id)
        ).all()
    )
    open_counts = dict(
        session.execute(
            select(FollowUpAction.review_id, func.count(FollowUpAction.id))
            .where(
                FollowUpAction.review_id.in_(ids),
                FollowUpAction.status.in_([ActionStatus.OPEN.value, ActionStatus.DONE.value]),
            )
            .group_by(FollowUpAction.review_id)
        ).all()
    )
    groups: list[CaseworkerFeedback] = []
    for review in reviews:
        if not groups or groups[-1].caseworker.id != review.caseworker_id:
            groups.append(CaseworkerFeedback(review.caseworker))
        groups[-1].lines.append(
            ReviewFeedbackLine(
                review,
                review.draw_item.case_ref,
                releases.get(review.id),
                int(comment_counts.get(review.id, 0)),
                int(open_counts.get(review.id, 0)),
            )
        )
    audit.record(
        session,
        actor,
        "view",
        "round_feedback",
        rnd.id,
        f"Viste feedback og kvitteringer for {len(reviews)} gennemgange i {round_label(rnd)}",
    )
    return groups


@dataclass(frozen=True)
class ReviewFeedback:
    review: CaseReview
    round: Round
    case_ref: str
    release: FeedbackRelease | None
    answers: list[ReviewAnswer]
    findings: list[ReviewAnswer]
    actions: list[FollowUpAction]
    comments: list[FeedbackComment]
    involvement: Involvement


def review_feedback(session: Session, actor: User, review_id: int) -> ReviewFeedback:
    """A leader's page for one review: release status and internal notes, the thread, the
    actions and the findings an action can be made from; audited."""
    review = get_or_raise(
        session, CaseReview, review_id, FeedbackError(_("Gennemgangen findes ikke."))
    )
    if not can_manage(actor, review.caseworker):
        raise FeedbackAccessError(_("Du kan kun se feedback i dine egne enheder."))
    rnd = session.get(Round, review.round_id)
    assert rnd is not None
    release = session.scalar(select(FeedbackRelease).where(FeedbackRelease.review_id == review.id))
    answers = sorted(
        review.answers, key=lambda a: (a.control_point.theme.position, a.control_point.code)
    )
    case_ref = _record_view(
        session, actor, release.id if release is not None else None, review, rnd
    )
    return ReviewFeedback(
        review=review,
        round=rnd,
        case_ref=case_ref,
        release=release,
        answers=answers,
        findings=[a for a in answers if a.outcome == Outcome.NOT_IN_ORDER],
        actions=list(
            session.scalars(
                select(FollowUpAction)
                .where(FollowUpAction.review_id == review.id)
                .order_by(FollowUpAction.id)
            )
        ),
        comments=list(release.comments) if release is not None else [],
        involvement=involvement(session, rnd),
    )


@dataclass(frozen=True)
class RoundSummaryRow:
    initials: str
    released: int
    acknowledged: int
    comments: int
    open_actions: int


def round_summary(session: Session, actor: User, round_id: int) -> list[RoundSummaryRow]:
    """Per caseworker of the actor's units in the round: released, acknowledged, comments and
    open actions (counts only; shown on the round page)."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        return []
    rows = []
    for group in round_feedback(session, actor, rnd):
        released = [line.release for line in group.lines if line.release is not None]
        rows.append(
            RoundSummaryRow(
                group.caseworker.initials,
                len(released),
                sum(1 for r in released if r.acknowledged_at is not None),
                sum(line.comments for line in group.lines),
                sum(line.open_actions for line in group.lines),
            )
        )
    return [r for r in rows if r.released or r.open_actions]


@dataclass(frozen=True)
class OpenActions:
    open: int
    overdue: int

    def __bool__(self) -> bool:
        return self.open > 0


def open_action_lines(session: Session, actor: User, today: date) -> OpenActions:
    """The caseworker's open actions and how many are overdue (start page box; counts only)."""
    if actor.caseworker_id is None:
        return OpenActions(0, 0)
    dues = list(
        session.scalars(
            select(FollowUpAction.due_date).where(
                FollowUpAction.caseworker_id == actor.caseworker_id,
                FollowUpAction.status == ActionStatus.OPEN.value,
            )
        )
    )
    return OpenActions(len(dues), sum(1 for d in dues if d < today))


def released_case_refs(session: Session, actor: User) -> dict[str, int]:
    """Case reference -> the newest visible release on it, for marking reviewed cases in the
    caseworker's *Mine sager*."""
    if actor.caseworker_id is None:
        return {}
    out: dict[str, int] = {}
    for rel in reversed(_visible_releases(session, actor.caseworker_id)):  # oldest first
        out[rel.review.draw_item.case_ref] = rel.id
    return out
