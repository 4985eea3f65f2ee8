"""Review progress per caseworker of a round, the round's sampled cases, and the review rounds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.org.models import Caseworker
from tilsyn.permissions import (
    can_open_round_reviews,
    caseworker_filter,
    round_caseworker_filter,
)
from tilsyn.reviews.models import NOT_STARTED_LABEL, CaseReview, ReviewStatus
from tilsyn.reviews.recording import round_label
from tilsyn.rounds.models import (
    Round,
    SupervisionPlan,
)
from tilsyn.sampling.models import DrawItem


@dataclass(frozen=True)
class ProgressTotals:
    """Counts of sampled cases and of their completed and draft reviews."""

    sampled: int
    completed: int
    draft: int

    @property
    def started(self) -> int:
        """Reviews begun: completed or saved as draft."""
        return self.completed + self.draft

    @property
    def remaining(self) -> int:
        """Sampled cases without a completed review (drafts included)."""
        return self.sampled - self.completed

    @property
    def not_started(self) -> int:
        return self.sampled - self.completed - self.draft


@dataclass(frozen=True, kw_only=True)
class ReviewProgress(ProgressTotals):
    """Review progress of one caseworker's sampled cases in a round."""

    caseworker: Caseworker


def totals(progress: Iterable[ReviewProgress]) -> ProgressTotals:
    rows = list(progress)
    return ProgressTotals(
        sum(p.sampled for p in rows), sum(p.completed for p in rows), sum(p.draft for p in rows)
    )


def _review_counts(session: Session, rnd: Round) -> dict[int, dict[str, int]]:
    """{caseworker id: {status: count}} for reviews of the round's current draw."""
    rows = session.execute(
        select(CaseReview.caseworker_id, CaseReview.status, func.count(CaseReview.id))
        .join(DrawItem, CaseReview.draw_item_id == DrawItem.id)
        .where(CaseReview.round_id == rnd.id, DrawItem.draw_id == rnd.draw_id)
        .group_by(CaseReview.caseworker_id, CaseReview.status)
    ).all()
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for cw_id, status, n in rows:
        out[int(cw_id)][str(status)] = int(n)
    return out


def round_progress(session: Session, rnd: Round, actor: User | None = None) -> list[ReviewProgress]:
    """Per caseworker with sampled cases in the round's current draw: sampled, completed and
    draft reviews (``remaining`` = sampled − completed). ``actor`` given: the caseworkers whose
    counts the actor may see on a round page (team leaders: their own units; admin, direktør and
    revisor: all, counts only). Aggregate counts only; not audited."""
    if rnd.draw_id is None:
        return []
    stmt = (
        select(Caseworker, func.count(DrawItem.id))
        .join(DrawItem, DrawItem.caseworker_id == Caseworker.id)
        .where(DrawItem.draw_id == rnd.draw_id)
        .group_by(Caseworker.id)
        .order_by(Caseworker.initials)
    )
    if actor is not None:
        stmt = stmt.where(round_caseworker_filter(actor))
    counts = _review_counts(session, rnd)
    out = []
    for cw, n in session.execute(stmt).all():
        c = counts.get(cw.id, {})
        out.append(
            ReviewProgress(
                int(n),
                c.get(ReviewStatus.COMPLETED, 0),
                c.get(ReviewStatus.DRAFT, 0),
                caseworker=cw,
            )
        )
    return out


@dataclass(frozen=True)
class CaseLine:
    item: DrawItem
    review: CaseReview | None

    @property
    def status(self) -> str:
        return self.review.status if self.review is not None else "not_started"

    @property
    def status_label(self) -> str:
        return self.review.status_label if self.review is not None else str(NOT_STARTED_LABEL)


@dataclass(frozen=True)
class CaseworkerCases:
    progress: ReviewProgress
    lines: list[CaseLine] = field(default_factory=list)


def round_cases(session: Session, actor: User | None, rnd: Round) -> list[CaseworkerCases]:
    """The round's sampled cases per caseworker with their review status (an audited view);
    only caseworkers the actor may see."""
    if rnd.draw_id is None:
        return []
    stmt = (
        select(DrawItem)
        .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
        .where(DrawItem.draw_id == rnd.draw_id)
        .options(selectinload(DrawItem.caseworker))
        .order_by(Caseworker.initials, DrawItem.order)
    )
    if actor is not None:
        stmt = stmt.where(caseworker_filter(actor))
    items = session.scalars(stmt).all()
    reviews = {
        r.draw_item_id: r
        for r in session.scalars(
            select(CaseReview).where(
                CaseReview.round_id == rnd.id,
                CaseReview.draw_item_id.in_([it.id for it in items]),
            )
        )
    }
    progress = {p.caseworker.id: p for p in round_progress(session, rnd, actor)}
    groups: list[CaseworkerCases] = []
    for it in items:
        if not groups or groups[-1].progress.caseworker.id != it.caseworker_id:
            groups.append(CaseworkerCases(progress[it.caseworker_id]))
        groups[-1].lines.append(CaseLine(it, reviews.get(it.id)))
    audit.record(
        session,
        actor,
        "view",
        "round_reviews",
        rnd.id,
        f"Viste {len(items)} udtrukne sager med gennemgangsstatus i {round_label(rnd)}",
    )
    return groups


@dataclass(frozen=True)
class RoundOverview:
    round: Round
    sampled: int
    completed: int
    draft: int


def review_rounds(session: Session, actor: User | None) -> list[RoundOverview]:
    """Rounds with a draw whose reviews the actor may open, newest first, with totals over the
    caseworkers the actor may see."""
    stmt = (
        select(Round)
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .where(Round.draw_id.is_not(None))
        .options(selectinload(Round.plan))
        .order_by(Round.period_start.desc(), SupervisionPlan.name)
    )
    out = []
    for rnd in session.scalars(stmt):
        if not can_open_round_reviews(actor, rnd):
            continue
        t = totals(round_progress(session, rnd, actor))
        out.append(RoundOverview(rnd, t.sampled, t.completed, t.draft))
    return out
