"""Recording findings per sampled case: the review form, opening, saving and reopening a review.

A team leader reviews each sampled case of a round (:func:`save_review`): one answer per control
point of the round that applies to the case's scheme (:func:`review_form_items`), an optional
note per answer and an overall note. A review stays a draft until it is completed; completing
needs an answer to every applicable control point. Saving the first review of a round whose
status is "drawn" puts the round "under review". Reviews are only written while the round is
drawn or under review, and only for draw items of the round's *current* draw. A completed review
is reopened (made a draft again) by a leader with :func:`reopen_review`. Every write and every
view of case-level data is recorded in the audit log (free text never goes into the log)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, Scale, ScaleOption, Theme
from tilsyn.errors import get_or_raise
from tilsyn.models_base import sync_children, utcnow
from tilsyn.permissions import (
    can_record_reviews,
    can_view_reviews,
)
from tilsyn.reviews.conflicts import check_version, stale_after_flush
from tilsyn.reviews.errors import ReviewAccessError, ReviewError
from tilsyn.reviews.models import NOT_STARTED_LABEL, CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.reviews.prefill import Prefill, case_prefills, override_problems
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus, RoundTheme
from tilsyn.sampling.models import DrawItem

#: Round statuses in which reviews may be written.
EDITABLE_ROUND_STATUSES = (RoundStatus.DRAWN, RoundStatus.IN_REVIEW)
NOTE_MAX = 4000
OVERALL_NOTE_MAX = 8000

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
    return get_or_raise(session, Round, round_id, ReviewError(_("Tilsynsrunden findes ikke.")))


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
    if rnd.status == RoundStatus.PLANNED:
        raise ReviewError(
            _("Runden er kun planlagt; sagerne kan gennemgås, når stikprøven er trukket.")
        )
    if rnd.status == RoundStatus.CLOSED:
        raise ReviewError(
            _(
                "Runden er afsluttet, så gennemgangene kan ikke ændres. "
                "Sæt runden under gennemgang igen for at ændre dem."
            )
        )
    raise ReviewError(
        _("Runder med status «%(status)s» kan ikke gennemgås.", status=rnd.status_label)
    )


def round_label(rnd: Round) -> str:
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
    #: Answers prefilled from the case export, by control point id (data-answered points).
    prefills: dict[int, Prefill] = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        return self.review.status_label if self.review is not None else str(NOT_STARTED_LABEL)


def _editable(actor: User | None, rnd: Round, item: DrawItem, review: CaseReview | None) -> bool:
    return (
        rnd.status in EDITABLE_ROUND_STATUSES
        and (review is None or not review.is_completed)
        and can_record_reviews(actor, item.caseworker)
    )


def review_is_editable(session: Session, actor: User | None, rnd: Round, item: DrawItem) -> bool:
    """Whether ``actor`` may still write the review of ``item`` in ``rnd`` (not audited)."""
    return _editable(actor, rnd, item, find_review(session, rnd.id, item.id))


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
    editable = _editable(actor, rnd, item, review)
    groups = review_form_items(session, rnd, item)
    prefills = case_prefills(session, item, applicable_points(groups))
    if editable:
        # An unanswered data-answered point starts at the export's answer (to confirm or change).
        for cp_id, prefill in prefills.items():
            current = values.get(cp_id)
            if current is None or current.option_id is None:
                values[cp_id] = AnswerValue(prefill.option_id, current.note if current else "")
    audit.record(
        session,
        actor,
        "view",
        "case_review",
        review.id if review is not None else None,
        f"Viste gennemgangen af sag {item.case_ref} ({item.caseworker.initials}) i "
        f"{round_label(rnd)}",
        {"round_id": rnd.id, "draw_item_id": item.id, "case_ref": item.case_ref},
    )
    return ReviewPage(rnd, item, review, groups, values, answers, editable, prefills)


# --------------------------------------------------------------------------------------------
# Writing reviews
# --------------------------------------------------------------------------------------------


def _start_review_of_round(session: Session, actor: User | None, rnd: Round) -> None:
    """The first review of a drawn round puts the round under review (audited like a status
    change made by hand)."""
    if rnd.status != RoundStatus.DRAWN:
        return
    rnd.status = RoundStatus.IN_REVIEW
    session.flush()
    audit.record(
        session,
        actor,
        "status",
        "round",
        rnd.id,
        f"{round_label(rnd)}: Stikprøve udtrukket → Under gennemgang (første gennemgang gemt)",
        {"from": RoundStatus.DRAWN, "to": RoundStatus.IN_REVIEW},
    )


def _review_to_write(
    session: Session,
    actor: User | None,
    round_id: int,
    draw_item_id: int,
    refusal: str,
    *,
    editable_round: bool = False,
) -> tuple[Round, DrawItem, CaseReview | None]:
    """The round, the draw item and its review (if any) that ``actor`` is about to write.

    Refuses a round that takes no reviews (with ``editable_round``), an item outside the
    round's draw, and (with ``refusal``) an actor who may not review the caseworker's cases.
    """
    rnd = round_for_review(session, round_id)
    if editable_round:
        _refuse_unless_editable(rnd)
    item = item_in_round(session, rnd, draw_item_id)
    if not can_record_reviews(actor, item.caseworker):
        raise ReviewAccessError(refusal)
    return rnd, item, find_review(session, rnd.id, item.id)


def save_review(
    session: Session,
    actor: User | None,
    round_id: int,
    draw_item_id: int,
    answers: Mapping[int, tuple[int | None, str]],
    overall_note: str,
    complete: bool,
    reasons: Mapping[int, str] | None = None,
    *,
    expected_version: int | None = None,
) -> CaseReview:
    """Save the review of a sampled case as a draft, or complete it.

    ``expected_version`` is the review's version when the form was opened (0: no review yet);
    a save from a stale form is refused with :class:`~tilsyn.reviews.conflicts.StaleReviewError`
    (None: no check).

    ``answers`` maps control point (version) id to ``(option id or None, note)`` and is the full
    state of the form: a control point missing from it (or with neither option nor note) has no
    answer afterwards. Every option must belong to its control point's scale, every control
    point must apply to the case in this round, and completing needs an option for every
    applicable control point. Everything is checked before anything is written; a refusal
    raises :class:`ReviewError` listing every problem. Flushes, never commits.

    Data-answered control points (:mod:`tilsyn.reviews.prefill`): each answer records the
    option the export gave (``prefill_option_id``); ``reasons`` maps control point id to the
    reason for choosing another option, required to complete a review that overrides one.
    """
    rnd, item, review = _review_to_write(
        session,
        actor,
        round_id,
        draw_item_id,
        _("Du kan kun gennemgå sager for sagsbehandlere i dine egne enheder."),
        editable_round=True,
    )
    if review is not None and review.is_completed:
        raise ReviewError(_("Gennemgangen er afsluttet. Genåbn den, hvis den skal ændres."))

    points = applicable_points(review_form_items(session, rnd, item))
    check_version(review, expected_version, points, answers, overall_note)
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
    prefills = case_prefills(session, item, points)
    reason_of = {cp_id: (text or "").strip() for cp_id, text in (reasons or {}).items()}
    problems.extend(
        override_problems(
            points,
            prefills,
            {cp_id: o.id if o is not None else None for cp_id, (o, _t) in clean.items()},
            reason_of,
            complete=complete,
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
            status=ReviewStatus.DRAFT,
        )
        session.add(review)
    review.reviewer_id = actor.id if actor is not None else None
    review.reviewer_name = audit.actor_name(actor)
    answer_of = sync_children(
        review.answers,
        clean,
        lambda a: a.control_point_id,
        lambda cp_id: ReviewAnswer(control_point_id=cp_id),
    )
    for cp_id, (option, text) in clean.items():
        answer = answer_of[cp_id]
        answer.option_id = option.id if option is not None else None
        answer.outcome = option.outcome if option is not None else None
        answer.score = option.score if option is not None else None
        answer.note = text
        prefill = prefills.get(cp_id)
        answer.prefill_option_id = prefill.option_id if prefill is not None else None
        answer.override_reason = reason_of.get(cp_id, "") if answer.overridden else ""
    review.overall_note = overall
    review.updated_at = now
    if complete:
        review.status = ReviewStatus.COMPLETED
        review.completed_at = now
    try:
        session.flush()
    except StaleDataError as exc:  # a concurrent save committed after the check above
        raise stale_after_flush(review) from exc
    _start_review_of_round(session, actor, rnd)
    answered = sum(1 for option, _text in clean.values() if option is not None)
    audit.record(
        session,
        actor,
        "complete" if complete else ("create" if created else "update"),
        "case_review",
        review.id,
        f"Gennemgang af sag {item.case_ref} ({item.caseworker.initials}) i {round_label(rnd)} "
        + ("afsluttet" if complete else "gemt som kladde"),
        {
            "round_id": rnd.id,
            "draw_item_id": item.id,
            "case_ref": item.case_ref,
            "status": review.status,
            "answered": answered,
            "applicable": len(points),
            "prefilled": sum(1 for a in review.answers if a.prefilled),
            "overridden": sum(1 for a in review.answers if a.overridden),
        },
    )
    return review


def reopen_review(
    session: Session, actor: User | None, round_id: int, draw_item_id: int
) -> CaseReview:
    """Make a completed review a draft again (a leader's correction); audited. Flushes."""
    rnd, item, review = _review_to_write(
        session,
        actor,
        round_id,
        draw_item_id,
        _("Du kan kun genåbne gennemgange for sagsbehandlere i dine egne enheder."),
    )
    if review is None or not review.is_completed:
        raise ReviewError(_("Gennemgangen er ikke afsluttet, så der er intet at genåbne."))
    if rnd.status == RoundStatus.CLOSED:
        raise ReviewError(
            _("Runden er afsluttet. Sæt runden under gennemgang igen, før en gennemgang genåbnes.")
        )
    _refuse_unless_editable(rnd)
    completed_at = review.completed_at
    review.status = ReviewStatus.DRAFT
    review.completed_at = None
    review.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "reopen",
        "case_review",
        review.id,
        f"Gennemgangen af sag {item.case_ref} ({item.caseworker.initials}) i {round_label(rnd)} "
        "er genåbnet",
        {
            "round_id": rnd.id,
            "draw_item_id": item.id,
            "case_ref": item.case_ref,
            "completed_at": completed_at.isoformat() if completed_at else None,
        },
    )
    return review
