"""Releasing completed reviews as feedback, the caseworker's acknowledgement and the thread.

Nothing of a review reaches its caseworker before a leader releases it (:func:`release`, for
one review, all completed reviews of a caseworker in a round, or a whole round). Releasing
what is already released and unchanged does nothing, so a double click or two leaders at once
have one effect (the unique release per review settles a race). A released review that is
reopened shows as changed until it is released again. On release each caseworker gets one
notice ("Du har fået feedback på N sager i tilsynsrunde ...") with a link and no case content.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.errors import get_or_raise
from tilsyn.feedback import notices
from tilsyn.feedback.common import (
    COMMENT_MAX,
    FeedbackAccessError,
    FeedbackError,
    display_name,
    involvement,
    is_own,
    require_manage,
    require_text,
    round_label,
)
from tilsyn.feedback.models import FeedbackComment, FeedbackRelease, Involvement
from tilsyn.models_base import utcnow
from tilsyn.reviews.models import CaseReview, ReviewStatus
from tilsyn.rounds.models import Round


@dataclass(frozen=True)
class ReleaseResult:
    released: int
    already: int
    not_completed: int

    def message(self) -> str:
        return _(
            "%(n)d gennemgange frigivet som feedback (%(already)d var allerede frigivet, "
            "%(open)d er ikke afsluttet).",
            n=self.released,
            already=self.already,
            open=self.not_completed,
        )


def _round(session: Session, round_id: int) -> Round:
    return get_or_raise(session, Round, round_id, FeedbackError(_("Tilsynsrunden findes ikke.")))


def release(
    session: Session,
    actor: User | None,
    round_id: int,
    *,
    review_ids: Iterable[int] | None = None,
    caseworker_id: int | None = None,
    internal_point_ids: Mapping[int, Iterable[int]] | None = None,
    overall_internal: Iterable[int] = (),
    config: Mapping[str, Any] | None = None,
) -> ReleaseResult:
    """Release the completed reviews of round ``round_id`` (all, one caseworker's, or the given
    review ids) to their caseworkers. ``internal_point_ids`` maps review id to the control
    points whose notes stay internal; ``overall_internal`` lists reviews whose overall note
    stays internal. Flushes; queues one notice per caseworker."""
    rnd = _round(session, round_id)
    if involvement(session, rnd) is Involvement.NONE:
        raise FeedbackError(
            _(
                "Planen giver ikke sagsbehandlerne adgang til feedback. Ændr planens "
                "indstilling for sagsbehandlerens inddragelse for at frigive."
            )
        )
    stmt = (
        select(CaseReview)
        .where(CaseReview.round_id == rnd.id)
        .options(selectinload(CaseReview.caseworker))
        .order_by(CaseReview.id)
    )
    if review_ids is not None:
        ids = sorted(set(review_ids))
        stmt = stmt.where(CaseReview.id.in_(ids))
    if caseworker_id is not None:
        stmt = stmt.where(CaseReview.caseworker_id == caseworker_id)
    reviews = list(session.scalars(stmt))
    if review_ids is not None and len(reviews) != len(ids):
        raise FeedbackError(_("Gennemgangen hører ikke til runden."))
    for review in reviews:
        require_manage(actor, review.caseworker)
    existing = {
        r.review_id: r
        for r in session.scalars(
            select(FeedbackRelease).where(FeedbackRelease.review_id.in_([r.id for r in reviews]))
        )
    }
    internal = {k: sorted({int(i) for i in v}) for k, v in (internal_point_ids or {}).items()}
    overall = set(overall_internal)
    released_per_cw: dict[int, int] = defaultdict(int)
    released_ids: list[int] = []
    already = not_completed = 0
    now = utcnow()
    for review in reviews:
        if review.status != ReviewStatus.COMPLETED:
            not_completed += 1
            continue
        current = existing.get(review.id)
        if current is not None and not current.changed:
            already += 1
            if review.id in internal or review.id in overall:
                current.internal_point_ids = internal.get(review.id, [])
                current.overall_note_internal = review.id in overall
            continue
        if current is None:
            current = FeedbackRelease(
                review_id=review.id, round_id=rnd.id, caseworker_id=review.caseworker_id
            )
            session.add(current)
        current.released_at = now
        current.released_by_name = audit.actor_name(actor)
        current.review_completed_at = review.completed_at
        current.internal_point_ids = internal.get(review.id, [])
        current.overall_note_internal = review.id in overall
        current.seen_at = None
        released_per_cw[review.caseworker_id] += 1
        released_ids.append(review.id)
    session.flush()
    total = sum(released_per_cw.values())
    if total:
        audit.record(
            session,
            actor,
            "release",
            "feedback",
            rnd.id,
            f"Frigav {total} gennemgange som feedback i {round_label(rnd)}",
            {
                "round_id": rnd.id,
                "reviews": released_ids,
                "caseworkers": sorted(released_per_cw),
            },
        )
    for cw_id, count in released_per_cw.items():
        subject = f"Du har fået feedback på {count} sager i tilsynsrunde {rnd.period_label}"
        for user in notices.caseworker_users(session, cw_id):
            notices.notify(session, user, subject, "/min-feedback", config or {})
    return ReleaseResult(total, already, not_completed)


def _release(session: Session, release_id: int) -> FeedbackRelease:
    return get_or_raise(
        session, FeedbackRelease, release_id, FeedbackError(_("Feedbacken findes ikke."))
    )


def own_release(session: Session, actor: User, release_id: int) -> FeedbackRelease:
    """A release the caseworker ``actor`` may see (their own, plan not "ingen adgang")."""
    rel = _release(session, release_id)
    if not is_own(actor, rel.caseworker_id):
        raise FeedbackAccessError(_("Du kan kun se din egen feedback."))
    rnd = session.get(Round, rel.round_id)
    assert rnd is not None
    if involvement(session, rnd) is Involvement.NONE:
        raise FeedbackAccessError(_("Planen giver ikke adgang til feedback."))
    return rel


def acknowledge(session: Session, actor: User, release_id: int) -> FeedbackRelease:
    """The caseworker acknowledges (*kvitterer for*) their feedback; a second time does
    nothing more (conditional update). Audited."""
    rel = own_release(session, actor, release_id)
    rnd = session.get(Round, rel.round_id)
    assert rnd is not None
    if involvement(session, rnd) is Involvement.VIEW:
        raise FeedbackError(_("Planen beder ikke om kvittering for feedback."))
    result = session.execute(
        update(FeedbackRelease)
        .where(FeedbackRelease.id == rel.id, FeedbackRelease.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by_name=actor.username)
        .execution_options(synchronize_session=False)
    )
    session.refresh(rel)
    if getattr(result, "rowcount", 0) != 1:
        raise FeedbackError(_("Du har allerede kvitteret for denne feedback."))
    audit.record(
        session,
        actor,
        "acknowledge",
        "feedback",
        rel.id,
        f"Kvitterede for feedback på sag {rel.review.draw_item.case_ref} i {round_label(rnd)}",
        {"round_id": rnd.id, "review_id": rel.review_id},
    )
    return rel


def add_comment(
    session: Session,
    actor: User,
    release_id: int,
    body: str,
    config: Mapping[str, Any] | None = None,
) -> FeedbackComment:
    """A message in a release's thread: the caseworker (if the plan allows comments) or a
    leader of the caseworker's unit. The other side is told (no content in the notice)."""
    rel = _release(session, release_id)
    rnd = session.get(Round, rel.round_id)
    assert rnd is not None
    text = require_text(body, _("Kommentaren"), COMMENT_MAX)
    if is_own(actor, rel.caseworker_id):
        own_release(session, actor, rel.id)
        if involvement(session, rnd) is not Involvement.COMMENT:
            raise FeedbackError(_("Planen giver ikke mulighed for at kommentere feedback."))
        kind = "caseworker"
    else:
        require_manage(actor, rel.caseworker)
        kind = "leader"
    comment = FeedbackComment(
        release_id=rel.id,
        author_id=actor.id,
        author_name=display_name(actor),
        author_kind=kind,
        body=text,
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor,
        "comment",
        "feedback",
        rel.id,
        f"Skrev en kommentar til feedback på sag {rel.review.draw_item.case_ref} "
        f"i {round_label(rnd)}",
        {"round_id": rnd.id, "review_id": rel.review_id, "comment_id": comment.id},
    )
    if kind == "caseworker":
        subject = f"Ny kommentar til feedback i tilsynsrunde {rnd.period_label}"
        for leader in notices.unit_leaders(session, rel.caseworker):
            notices.notify(
                session, leader, subject, f"/feedback/gennemgang/{rel.review_id}", config or {}
            )
    else:
        subject = f"Din leder har svaret på feedback i tilsynsrunde {rnd.period_label}"
        for user in notices.caseworker_users(session, rel.caseworker_id):
            notices.notify(session, user, subject, f"/min-feedback/{rel.id}", config or {})
    return comment
