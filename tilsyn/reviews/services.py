"""Recording findings per sampled case, review progress and design-based estimates.

Reviews
-------
A team leader reviews each sampled case of a round (:func:`save_review`): one answer per control
point of the round that applies to the case's scheme (:func:`review_form_items`), an optional
note per answer and an overall note. A review stays a draft until it is completed; completing
needs an answer to every applicable control point. Saving the first review of a round whose
status is "drawn" puts the round "under review". Reviews are only written while the round is
drawn or under review, and only for draw items of the round's *current* draw. A completed review
is reopened (made a draft again) by a leader with :func:`reopen_review`. Every write and every
view of case-level data is recorded in the audit log (free text never goes into the log).

Estimation
----------
:func:`point_estimates` gives, per round and per control point series, the design-weighted
(Hájek) share of cases in order with :func:`tilsyn.stats.estimation.estimate_proportion`, and
for scored scales (1–3) the weighted mean score with ``estimate_mean``. The weights are
``1/π`` with π and the stratum of each case taken from the draw items.

* **Series.** Versions of a control point linked by ``comparable_to`` count as one series (the
  oldest version of the chain is the series id); a version without that link starts a new series.
* **Per round.** Each round is its own design (its own draw, strata and π), so estimates are
  made per round; a trend is a sequence of per-round estimates, compared with
  :func:`tilsyn.stats.estimation.compare`.
* **Domain.** Completed reviews whose answer to the series is in order or not in order. "Not
  applicable" answers, cases whose scheme the control point does not cover and cases outside an
  optional scheme/unit restriction are outside the domain but stay in the sample arrays, so every
  stratum keeps its full sample size (domain estimation).
* **Non-response rule.** A sampled case without a *completed* review (not started or a draft) is
  non-response, not a domain exclusion: the estimate is made on the completed reviews as the
  sample (their own π and strata, no reweighting for the missing ones), and it is flagged
  ``provisional`` whenever any sampled case of the round lacks a completed review. It then rests
  on the assumption that the missing reviews resemble completed ones with the same design weight.
  A round whose every sampled case is reviewed (a finished round) has no non-response, and its
  estimate uses the full sample of the draw.
* **Raw share.** ``raw_share`` is the unweighted share in order among the answered cases. It
  describes the risk-weighted *sample*, not all cases, and must only be shown labelled as such
  (:data:`RAW_SHARE_LABEL`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, Scale, ScaleOption, Theme
from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.models_base import utcnow
from tilsyn.org.models import Caseworker
from tilsyn.permissions import (
    can_open_round_reviews,
    can_record_reviews,
    can_view_reviews,
    caseworker_filter,
    round_caseworker_filter,
)
from tilsyn.reviews.models import (
    COMPLETED,
    DRAFT,
    IN_ORDER,
    NOT_APPLICABLE,
    NOT_IN_ORDER,
    NOT_STARTED_LABEL,
    CaseReview,
    ReviewAnswer,
)
from tilsyn.rounds.models import (
    CLOSED,
    DRAWN,
    IN_REVIEW,
    PLANNED,
    Round,
    RoundControlPoint,
    RoundTheme,
    SupervisionPlan,
)
from tilsyn.sampling.models import DrawItem
from tilsyn.stats.estimation import Estimate, estimate_mean, estimate_proportion, stratum_codes

#: Round statuses in which reviews may be written.
EDITABLE_ROUND_STATUSES = (DRAWN, IN_REVIEW)
NOTE_MAX = 4000
OVERALL_NOTE_MAX = 8000
#: The only label under which :attr:`PointEstimate.raw_share` may be shown.
RAW_SHARE_LABEL = _l("Rå andel i stikprøven (ikke vægtet, overvurderer fejl)")


class ReviewError(ServiceError):
    """A user-facing (Danish) refusal; ``problems`` lists every reason."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ".join(self.problems))


class ReviewAccessError(ReviewError, ServiceAccessError):
    """The actor may not review (or see reviews of) this caseworker's cases."""


# --------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# The review form
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormItem:
    control_point: ControlPoint
    is_core: bool


@dataclass(frozen=True)
class ThemeGroup:
    theme: Theme
    is_core: bool
    items: list[FormItem]


def review_form_items(session: Session, rnd: Round, draw_item: DrawItem) -> list[ThemeGroup]:
    """The round's control points that apply to the case's scheme, grouped by theme.

    A control point limited to schemes applies when the case's scheme is among them; one with
    no schemes applies to every case. Groups follow the round's theme order (fixed core first);
    points are ordered by code.
    """
    rcps = session.scalars(
        select(RoundControlPoint)
        .where(RoundControlPoint.round_id == rnd.id)
        .options(
            selectinload(RoundControlPoint.control_point)
            .selectinload(ControlPoint.scale)
            .selectinload(Scale.options),
            selectinload(RoundControlPoint.control_point).selectinload(ControlPoint.theme),
        )
    ).all()
    by_theme: dict[int, list[FormItem]] = defaultdict(list)
    for rcp in rcps:
        cp = rcp.control_point
        if cp.applies_to(draw_item.scheme):
            by_theme[cp.theme_id].append(FormItem(cp, rcp.is_core))
    round_themes = session.scalars(
        select(RoundTheme)
        .where(RoundTheme.round_id == rnd.id)
        .options(selectinload(RoundTheme.theme))
        .order_by(RoundTheme.is_core.desc(), RoundTheme.position)
    ).all()
    groups: list[ThemeGroup] = []
    for rt in round_themes:
        items = by_theme.pop(rt.theme_id, [])
        if items:
            items.sort(key=lambda fi: (fi.control_point.code, fi.control_point.version))
            groups.append(ThemeGroup(rt.theme, rt.is_core, items))
    # A version whose theme is not (or no longer) among the round's themes keeps its place.
    for items in by_theme.values():
        items.sort(key=lambda fi: (fi.control_point.code, fi.control_point.version))
        theme = items[0].control_point.theme
        groups.append(ThemeGroup(theme, all(fi.is_core for fi in items), items))
    return groups


def applicable_points(groups: Iterable[ThemeGroup]) -> list[ControlPoint]:
    """The control points of ``groups`` in form order."""
    return [fi.control_point for g in groups for fi in g.items]


# --------------------------------------------------------------------------------------------
# Looking up rounds, draw items and reviews
# --------------------------------------------------------------------------------------------


def round_for_review(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise ReviewError(_("Tilsynsrunden findes ikke."))
    return rnd


def item_in_round(session: Session, rnd: Round, draw_item_id: int) -> DrawItem:
    """The draw item, which must belong to the round's current draw."""
    item = session.get(DrawItem, draw_item_id)
    if item is None or rnd.draw_id is None or item.draw_id != rnd.draw_id:
        raise ReviewError(_("Sagen hører ikke til rundens nuværende stikprøve."))
    return item


def find_review(session: Session, round_id: int, draw_item_id: int) -> CaseReview | None:
    return session.scalar(
        select(CaseReview).where(
            CaseReview.round_id == round_id, CaseReview.draw_item_id == draw_item_id
        )
    )


def _refuse_unless_editable(rnd: Round) -> None:
    if rnd.status in EDITABLE_ROUND_STATUSES:
        return
    if rnd.status == PLANNED:
        raise ReviewError(
            _("Runden er kun planlagt; sagerne kan gennemgås, når stikprøven er trukket.")
        )
    if rnd.status == CLOSED:
        raise ReviewError(
            _(
                "Runden er afsluttet, så gennemgangene kan ikke ændres. "
                "Sæt runden under gennemgang igen for at ændre dem."
            )
        )
    raise ReviewError(
        _("Runder med status «%(status)s» kan ikke gennemgås.", status=rnd.status_label)
    )


def _label(rnd: Round) -> str:
    return f"{rnd.plan.name} {rnd.period_label}"


# --------------------------------------------------------------------------------------------
# Viewing a review
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerValue:
    option_id: int | None
    note: str


@dataclass(frozen=True)
class ReviewPage:
    """What the review form and the read-only review page show."""

    round: Round
    item: DrawItem
    review: CaseReview | None
    groups: list[ThemeGroup]
    values: dict[int, AnswerValue]
    answers: dict[int, ReviewAnswer]
    editable: bool

    @property
    def status_label(self) -> str:
        return self.review.status_label if self.review is not None else str(NOT_STARTED_LABEL)


def open_review(
    session: Session, actor: User | None, round_id: int, draw_item_id: int
) -> ReviewPage:
    """The review of a sampled case for the form or the read-only page (an audited view).

    Raises :class:`ReviewAccessError` if the actor may not see the caseworker's reviews and
    :class:`ReviewError` if the case is not in the round's current draw.
    """
    rnd = round_for_review(session, round_id)
    item = item_in_round(session, rnd, draw_item_id)
    if not can_view_reviews(actor, item.caseworker):
        raise ReviewAccessError(_("Du kan kun se gennemgange af sager i dine egne enheder."))
    review = find_review(session, rnd.id, item.id)
    answers = {a.control_point_id: a for a in review.answers} if review is not None else {}
    values = {cp_id: AnswerValue(a.option_id, a.note) for cp_id, a in answers.items()}
    editable = (
        rnd.status in EDITABLE_ROUND_STATUSES
        and (review is None or not review.is_completed)
        and can_record_reviews(actor, item.caseworker)
    )
    audit.record(
        session,
        actor,
        "view",
        "case_review",
        review.id if review is not None else None,
        f"Viste gennemgangen af sag {item.case_ref} ({item.caseworker.initials}) i {_label(rnd)}",
        {"round_id": rnd.id, "draw_item_id": item.id, "case_ref": item.case_ref},
    )
    return ReviewPage(
        rnd, item, review, review_form_items(session, rnd, item), values, answers, editable
    )


# --------------------------------------------------------------------------------------------
# Writing reviews
# --------------------------------------------------------------------------------------------


def _start_review_of_round(session: Session, actor: User | None, rnd: Round) -> None:
    """The first review of a drawn round puts the round under review (audited like a status
    change made by hand)."""
    if rnd.status != DRAWN:
        return
    rnd.status = IN_REVIEW
    session.flush()
    audit.record(
        session,
        actor,
        "status",
        "round",
        rnd.id,
        f"{_label(rnd)}: Stikprøve udtrukket → Under gennemgang (første gennemgang gemt)",
        {"from": DRAWN, "to": IN_REVIEW},
    )


def save_review(
    session: Session,
    actor: User | None,
    round_id: int,
    draw_item_id: int,
    answers: Mapping[int, tuple[int | None, str]],
    overall_note: str,
    complete: bool,
) -> CaseReview:
    """Save the review of a sampled case as a draft, or complete it.

    ``answers`` maps control point (version) id to ``(option id or None, note)`` and is the full
    state of the form: a control point missing from it (or with neither option nor note) has no
    answer afterwards. Every option must belong to its control point's scale, every control
    point must apply to the case in this round, and completing needs an option for every
    applicable control point. Everything is checked before anything is written; a refusal
    raises :class:`ReviewError` listing every problem. Flushes, never commits.
    """
    rnd = round_for_review(session, round_id)
    _refuse_unless_editable(rnd)
    item = item_in_round(session, rnd, draw_item_id)
    if not can_record_reviews(actor, item.caseworker):
        raise ReviewAccessError(
            _("Du kan kun gennemgå sager for sagsbehandlere i dine egne enheder.")
        )
    review = find_review(session, rnd.id, item.id)
    if review is not None and review.is_completed:
        raise ReviewError(_("Gennemgangen er afsluttet. Genåbn den, hvis den skal ændres."))

    points = applicable_points(review_form_items(session, rnd, item))
    applicable = {cp.id: cp for cp in points}
    problems: list[str] = []
    clean: dict[int, tuple[ScaleOption | None, str]] = {}
    for cp_id, (option_id, note) in answers.items():
        cp = applicable.get(cp_id)
        if cp is None:
            problems.append(
                _(
                    "Kontrolpunkt nr. %(id)s stilles ikke for denne sag i runden (det hører "
                    "ikke til rundens kontrolpunkter for sagens ordning).",
                    id=cp_id,
                )
            )
            continue
        text = (note or "").strip()
        if len(text) > NOTE_MAX:
            problems.append(
                _(
                    "%(code)s: bemærkningen er for lang (højst %(n)d tegn).",
                    code=cp.code,
                    n=NOTE_MAX,
                )
            )
        option: ScaleOption | None = None
        if option_id is not None:
            option = next((o for o in cp.scale.options if o.id == option_id), None)
            if option is None:
                problems.append(
                    _("%(code)s: svaret hører ikke til kontrolpunktets svarskala.", code=cp.code)
                )
        if option is not None or text:
            clean[cp_id] = (option, text)
    overall = (overall_note or "").strip()
    if len(overall) > OVERALL_NOTE_MAX:
        problems.append(
            _("Den samlede bemærkning er for lang (højst %(n)d tegn).", n=OVERALL_NOTE_MAX)
        )
    if complete:
        missing = [cp.code for cp in points if clean.get(cp.id, (None, ""))[0] is None]
        if missing:
            problems.append(
                _(
                    "Gennemgangen kan først afsluttes, når alle kontrolpunkter er besvaret. "
                    "Mangler svar: %(codes)s.",
                    codes=", ".join(missing),
                )
            )
    if problems:
        raise ReviewError(problems)

    now = utcnow()
    created = review is None
    if review is None:
        review = CaseReview(
            round_id=rnd.id,
            draw_item_id=item.id,
            case_id=item.case_id,
            caseworker_id=item.caseworker_id,
            started_at=now,
            status=DRAFT,
        )
        session.add(review)
    review.reviewer_id = actor.id if actor is not None else None
    review.reviewer_name = audit.actor_name(actor)
    existing = {a.control_point_id: a for a in review.answers}
    for cp_id, stale in existing.items():
        if cp_id not in clean:
            review.answers.remove(stale)
    for cp_id, (option, text) in clean.items():
        answer = existing.get(cp_id)
        if answer is None:
            answer = ReviewAnswer(control_point_id=cp_id)
            review.answers.append(answer)
        answer.option_id = option.id if option is not None else None
        answer.outcome = option.outcome if option is not None else None
        answer.score = option.score if option is not None else None
        answer.note = text
    review.overall_note = overall
    review.updated_at = now
    if complete:
        review.status = COMPLETED
        review.completed_at = now
    session.flush()
    _start_review_of_round(session, actor, rnd)
    answered = sum(1 for option, _text in clean.values() if option is not None)
    audit.record(
        session,
        actor,
        "complete" if complete else ("create" if created else "update"),
        "case_review",
        review.id,
        f"Gennemgang af sag {item.case_ref} ({item.caseworker.initials}) i {_label(rnd)} "
        + ("afsluttet" if complete else "gemt som kladde"),
        {
            "round_id": rnd.id,
            "draw_item_id": item.id,
            "case_ref": item.case_ref,
            "status": review.status,
            "answered": answered,
            "applicable": len(points),
        },
    )
    return review


def reopen_review(
    session: Session, actor: User | None, round_id: int, draw_item_id: int
) -> CaseReview:
    """Make a completed review a draft again (a leader's correction); audited. Flushes."""
    rnd = round_for_review(session, round_id)
    item = item_in_round(session, rnd, draw_item_id)
    if not can_record_reviews(actor, item.caseworker):
        raise ReviewAccessError(
            _("Du kan kun genåbne gennemgange for sagsbehandlere i dine egne enheder.")
        )
    review = find_review(session, rnd.id, item.id)
    if review is None or not review.is_completed:
        raise ReviewError(_("Gennemgangen er ikke afsluttet, så der er intet at genåbne."))
    if rnd.status == CLOSED:
        raise ReviewError(
            _("Runden er afsluttet. Sæt runden under gennemgang igen, før en gennemgang genåbnes.")
        )
    _refuse_unless_editable(rnd)
    completed_at = review.completed_at
    review.status = DRAFT
    review.completed_at = None
    review.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "reopen",
        "case_review",
        review.id,
        f"Gennemgangen af sag {item.case_ref} ({item.caseworker.initials}) i {_label(rnd)} "
        "er genåbnet",
        {
            "round_id": rnd.id,
            "draw_item_id": item.id,
            "case_ref": item.case_ref,
            "completed_at": completed_at.isoformat() if completed_at else None,
        },
    )
    return review


# --------------------------------------------------------------------------------------------
# Progress and the list of sampled cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewProgress:
    """Review progress of one caseworker's sampled cases in a round."""

    caseworker: Caseworker
    sampled: int
    completed: int
    draft: int

    @property
    def remaining(self) -> int:
        """Sampled cases without a completed review (drafts included)."""
        return self.sampled - self.completed

    @property
    def not_started(self) -> int:
        return self.sampled - self.completed - self.draft


@dataclass(frozen=True)
class ProgressTotals:
    sampled: int
    completed: int
    draft: int

    @property
    def started(self) -> int:
        """Reviews begun: completed or saved as draft."""
        return self.completed + self.draft

    @property
    def remaining(self) -> int:
        return self.sampled - self.completed

    @property
    def not_started(self) -> int:
        return self.sampled - self.completed - self.draft


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
        out.append(ReviewProgress(cw, int(n), c.get(COMPLETED, 0), c.get(DRAFT, 0)))
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
        f"Viste {len(items)} udtrukne sager med gennemgangsstatus i {_label(rnd)}",
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


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointEstimate:
    """One control point series in one round, estimated for all cases of the round's population.

    ``share`` is the design-weighted (Hájek) share in order with its interval; ``mean`` the
    weighted mean score for scored (1–3) scales. ``raw_share`` is the *unweighted* share in the
    risk-weighted sample: show it only labelled as such (:data:`RAW_SHARE_LABEL`).
    """

    round_id: int
    series_id: int
    control_point_ids: tuple[int, ...]
    code: str
    version: int
    theme_id: int
    is_core: bool
    share: Estimate
    mean: Estimate | None
    raw_share: float
    answered: int
    in_order: int
    not_applicable: int
    sampled: int
    completed: int

    @property
    def provisional(self) -> bool:
        """True while sampled cases of the round lack a completed review (non-response)."""
        return self.completed < self.sampled


def series_roots(session: Session) -> dict[int, int]:
    """{control point id: id of the oldest version of its comparable chain}."""
    links: dict[int, int | None] = {
        int(cp_id): prev
        for cp_id, prev in session.execute(select(ControlPoint.id, ControlPoint.comparable_to_id))
    }
    roots: dict[int, int] = {}
    for cp_id in links:
        seen = [cp_id]
        current = cp_id
        previous = links.get(current)
        while previous is not None and previous not in seen:
            current = previous
            seen.append(current)
            previous = links.get(current)
        roots[cp_id] = current
    return roots


@dataclass(frozen=True)
class _RoundPoint:
    cp_id: int
    code: str
    version: int
    theme_id: int
    is_core: bool
    scored: bool


def _round_points(session: Session, rnd: Round) -> list[_RoundPoint]:
    rows = session.execute(
        select(
            ControlPoint.id,
            ControlPoint.code,
            ControlPoint.version,
            ControlPoint.theme_id,
            ControlPoint.scale_id,
            RoundControlPoint.is_core,
        )
        .join(RoundControlPoint, RoundControlPoint.control_point_id == ControlPoint.id)
        .where(RoundControlPoint.round_id == rnd.id)
    ).all()
    scale_ids = {r.scale_id for r in rows}
    scored_scales = set()
    if scale_ids:
        options = session.execute(
            select(ScaleOption.scale_id, ScaleOption.outcome, ScaleOption.score).where(
                ScaleOption.scale_id.in_(scale_ids)
            )
        ).all()
        by_scale: dict[int, list[tuple[str, float | None]]] = defaultdict(list)
        for scale_id, outcome, score in options:
            by_scale[scale_id].append((outcome, score))
        scored_scales = {
            s
            for s, opts in by_scale.items()
            if any(o != NOT_APPLICABLE for o, _ in opts)
            and all(sc is not None for o, sc in opts if o != NOT_APPLICABLE)
        }
    return [
        _RoundPoint(
            r.id, r.code, r.version, r.theme_id, bool(r.is_core), r.scale_id in scored_scales
        )
        for r in rows
    ]


def point_estimates(
    session: Session,
    round_ids: Iterable[int],
    *,
    schemes: Collection[str] | None = None,
    unit_ids: Collection[int] | None = None,
    level: float = 0.95,
) -> list[PointEstimate]:
    """Design-based estimates per round and control point series (see the module docstring).

    ``schemes`` / ``unit_ids`` restrict the domain to cases of those schemes / caseworkers of
    those units (the caseworker's current unit); the full sample stays in the strata. Rounds
    without a draw give nothing. Results are ordered by round (period, id), then code.
    """
    ids = sorted(set(round_ids))
    if not ids:
        return []
    rounds = session.scalars(
        select(Round).where(Round.id.in_(ids)).order_by(Round.period_start, Round.id)
    ).all()
    roots = series_roots(session)
    out: list[PointEstimate] = []
    for rnd in rounds:
        if rnd.draw_id is not None:
            out.extend(_round_estimates(session, rnd, roots, schemes, unit_ids, level))
    return out


def _round_estimates(
    session: Session,
    rnd: Round,
    roots: Mapping[int, int],
    schemes: Collection[str] | None,
    unit_ids: Collection[int] | None,
    level: float,
) -> list[PointEstimate]:
    sampled = int(
        session.scalar(select(func.count(DrawItem.id)).where(DrawItem.draw_id == rnd.draw_id)) or 0
    )
    # The completed reviews of the current draw are the (responding) sample.
    respondents = session.execute(
        select(
            CaseReview.id,
            DrawItem.inclusion_probability,
            DrawItem.stratum,
            DrawItem.scheme,
            Caseworker.unit_id,
        )
        .join(DrawItem, CaseReview.draw_item_id == DrawItem.id)
        .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
        .where(
            CaseReview.round_id == rnd.id,
            CaseReview.status == COMPLETED,
            DrawItem.draw_id == rnd.draw_id,
        )
        .order_by(CaseReview.id)
    ).all()
    n = len(respondents)
    position = {int(r.id): i for i, r in enumerate(respondents)}
    pi = np.array([float(r.inclusion_probability) for r in respondents], dtype=np.float64)
    strata = stratum_codes(np.array([str(r.stratum) for r in respondents], dtype=object))
    in_scope = np.ones(n, dtype=bool)
    if schemes is not None:
        wanted = set(schemes)
        in_scope &= np.array([r.scheme in wanted for r in respondents], dtype=bool)
    if unit_ids is not None:
        units = set(unit_ids)
        in_scope &= np.array([r.unit_id in units for r in respondents], dtype=bool)

    points = _round_points(session, rnd)
    version_of = {p.cp_id: p.version for p in points}
    series: dict[int, list[_RoundPoint]] = defaultdict(list)
    for p in points:
        series[roots.get(p.cp_id, p.cp_id)].append(p)
    answers = session.execute(
        select(
            ReviewAnswer.review_id,
            ReviewAnswer.control_point_id,
            ReviewAnswer.outcome,
            ReviewAnswer.score,
        )
        .join(CaseReview, ReviewAnswer.review_id == CaseReview.id)
        .where(
            CaseReview.round_id == rnd.id,
            CaseReview.status == COMPLETED,
            ReviewAnswer.outcome.is_not(None),
        )
    ).all()
    by_point: dict[int, list[Any]] = defaultdict(list)
    for a in answers:
        if int(a.review_id) in position and a.control_point_id in version_of:
            by_point[int(a.control_point_id)].append(a)

    out = []
    for root, members in series.items():
        members.sort(key=lambda p: p.version)
        latest = members[-1]
        y = np.full(n, np.nan)
        score = np.full(n, np.nan)
        na = np.zeros(n, dtype=bool)
        # Older versions first, so a case answered under two versions keeps the newest answer.
        for p in members:
            for a in by_point.get(p.cp_id, ()):
                i = position[int(a.review_id)]
                y[i] = np.nan
                score[i] = np.nan
                na[i] = False
                if a.outcome == NOT_APPLICABLE:
                    na[i] = True
                    continue
                y[i] = (
                    1.0 if a.outcome == IN_ORDER else 0.0 if a.outcome == NOT_IN_ORDER else np.nan
                )
                if p.scored and a.score is not None:
                    score[i] = float(a.score)
        domain = in_scope & ~np.isnan(y)
        share = estimate_proportion(y, pi, strata, domain, level)
        mean: Estimate | None = None
        if all(p.scored for p in members):
            mean = estimate_mean(score, pi, strata, in_scope & ~np.isnan(score), level)
        answered = int(domain.sum())
        in_order = int(np.count_nonzero(y[domain] == 1.0))
        out.append(
            PointEstimate(
                round_id=rnd.id,
                series_id=root,
                control_point_ids=tuple(p.cp_id for p in members),
                code=latest.code,
                version=latest.version,
                theme_id=latest.theme_id,
                is_core=any(p.is_core for p in members),
                share=share,
                mean=mean,
                raw_share=in_order / answered if answered else math.nan,
                answered=answered,
                in_order=in_order,
                not_applicable=int(np.count_nonzero(na & in_scope)),
                sampled=sampled,
                completed=n,
            )
        )
    out.sort(key=lambda e: (e.code, e.version))
    return out


def theme_weakness(
    session: Session, plan_id: int, last_n_rounds: int = 1, before: date | None = None
) -> dict[int, float]:
    """{theme id: lowest estimated share in order among its control points} for the plan.

    For each theme, the plan's ``last_n_rounds`` most recent *closed* rounds that asked it are
    used, and the lowest design-weighted point estimate of any of its control points in those
    rounds is returned (lower = weaker). Themes never asked in a closed round, or without any
    estimable control point, are left out. This is the ``estimates`` mapping the rotating-theme
    suggestion accepts. ``before`` given: only rounds whose period starts before that day (the
    suggestions for a round use what was known before it).
    """
    if last_n_rounds < 1:
        return {}
    conditions = [Round.plan_id == plan_id, Round.status == CLOSED, Round.draw_id.is_not(None)]
    if before is not None:
        conditions.append(Round.period_start < before)
    closed = session.scalars(
        select(Round)
        .where(*conditions)
        .options(selectinload(Round.themes))
        .order_by(Round.period_start.desc(), Round.id.desc())
    ).all()
    rounds_for_theme: dict[int, list[int]] = defaultdict(list)
    for rnd in closed:
        for rt in rnd.themes:
            if len(rounds_for_theme[rt.theme_id]) < last_n_rounds:
                rounds_for_theme[rt.theme_id].append(rnd.id)
    needed = {rid for ids in rounds_for_theme.values() for rid in ids}
    lowest: dict[int, float] = {}
    wanted = {(tid, rid) for tid, ids in rounds_for_theme.items() for rid in ids}
    for e in point_estimates(session, needed):
        value = e.share.estimate
        if (e.theme_id, e.round_id) not in wanted or not math.isfinite(value):
            continue
        lowest[e.theme_id] = min(lowest.get(e.theme_id, value), value)
    return lowest
