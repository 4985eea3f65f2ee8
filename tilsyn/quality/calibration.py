"""Calibration between leaders: second blind reviews, agreement and resolutions.

* **Plan option** (:func:`save_setting`): ``cases_per_team`` sampled cases per team in each
  round (default 2) get a second review by another of the leaders the option names.
* **Choice and assignment** (:func:`assign_round`): per team (the caseworker's unit) the cases
  are drawn at random with a generator seeded from the round and its draw (reproducible); the
  second reviewer is chosen round-robin among the named leaders, skipping the leaders of the
  case's own team (who review it first). Saving a second review is refused to the leader who
  wrote the first review of the case, so the second reviewer is never the first.
* **Blind** (:func:`second_review_page`): the second reviewer sees the case and the control
  points, not the first answers, until both reviews are completed; the first reviewer's pages
  never show the second review.
* **Agreement** (:func:`agreement`): per control point and per theme, over the pairs where
  both reviews are completed, the percent agreement, Cohen's κ and Gwet's AC1 with 95 %
  intervals (:mod:`tilsyn.stats.agreement`; categories: the options of the point's scale).
  The first answer counts as it was given, also after a resolution replaced it.
* **Resolution** (:func:`resolve`): for each control point the two leaders answered
  differently, the leaders record which answer stands and why. The estimates use the first
  review until a resolution makes the second answer stand; then the first review's answer is
  replaced by it (the original options stay in the resolution).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import ControlPoint, Scale, Theme
from tilsyn.errors import ServiceAccessError, ServiceError, get_or_raise
from tilsyn.models_base import sync_children, utcnow
from tilsyn.org.models import Caseworker
from tilsyn.permissions import Role, can_manage_plan, can_see_plan, role_of
from tilsyn.quality.models import (
    CalibrationAnswer,
    CalibrationCase,
    CalibrationResolution,
    CalibrationSetting,
    SecondStatus,
    Standing,
)
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.reviews.recording import applicable_points, find_review, review_form_items, round_label
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan
from tilsyn.sampling.models import Draw, DrawItem
from tilsyn.stats.agreement import Agreement, cohen_kappa, gwet_ac1, percent_agreement

__all__ = [
    "AgreementRow",
    "CalibrationAccessError",
    "CalibrationError",
    "Pair",
    "SecondPage",
    "agreement",
    "assign_pending",
    "assign_round",
    "pairs",
    "resolve",
    "save_second_review",
    "save_setting",
    "second_review_page",
    "setting_of",
]

MAX_CASES_PER_TEAM = 10
REASON_MAX = 1000


class CalibrationError(ServiceError):
    """A user-facing (Danish) refusal."""


class CalibrationAccessError(CalibrationError, ServiceAccessError):
    """The actor may not do this (403)."""


def setting_of(session: Session, plan_id: int) -> CalibrationSetting | None:
    return session.scalar(select(CalibrationSetting).where(CalibrationSetting.plan_id == plan_id))


def _leader_users(session: Session, ids: Iterable[int]) -> list[User]:
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    return list(session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.id)))


def save_setting(
    session: Session,
    actor: User | None,
    plan: SupervisionPlan,
    *,
    active: bool,
    cases_per_team: int,
    leader_ids: Sequence[int],
) -> CalibrationSetting:
    """Set the plan's calibration option (audited). At least two active leaders are needed."""
    if not can_manage_plan(actor, plan):
        raise CalibrationAccessError(_("Du kan kun ændre dine egne teams' tilsynsplaner."))
    problems = []
    if not 1 <= cases_per_team <= MAX_CASES_PER_TEAM:
        problems.append(
            _(
                "Antal sager pr. team skal være mellem 1 og %(n)d.",
                n=MAX_CASES_PER_TEAM,
            )
        )
    users = _leader_users(session, leader_ids)
    valid = [u for u in users if u.active and role_of(u) in (Role.TEAMLEDER, Role.ADMIN)]
    if len(valid) != len(set(leader_ids)):
        problems.append(_("Kun aktive teamledere kan kalibrere."))
    if active and len(valid) < 2:
        problems.append(_("Vælg mindst to ledere, der kan gennemgå hinandens sager."))
    if problems:
        raise CalibrationError(" ".join(problems))
    setting = setting_of(session, plan.id)
    if setting is None:
        setting = CalibrationSetting(plan_id=plan.id)
        session.add(setting)
    setting.active = active
    setting.cases_per_team = cases_per_team
    setting.leader_ids = [u.id for u in valid]
    setting.updated_at = utcnow()
    setting.updated_by_name = audit.actor_name(actor)
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "calibration_setting",
        setting.id,
        f"Kalibrering i {plan.name}: "
        + (f"{cases_per_team} sager pr. team" if active else "slået fra"),
        {"active": active, "cases_per_team": cases_per_team, "leader_ids": setting.leader_ids},
    )
    return setting


def assign_round(session: Session, actor: User | None, rnd: Round) -> list[CalibrationCase]:
    """Choose the round's calibration cases and their second reviewers (once per round).

    Nothing happens without an active option, without a draw, or when the round already has
    calibration cases. Audited.
    """
    if rnd.draw_id is None:
        return []
    setting = setting_of(session, rnd.plan_id)
    if setting is None or not setting.active:
        return []
    existing = list(
        session.scalars(select(CalibrationCase).where(CalibrationCase.round_id == rnd.id))
    )
    if existing:
        return existing
    leaders = [u for u in _leader_users(session, setting.leader_ids) if u.active]
    draw = session.get(Draw, rnd.draw_id)
    assert draw is not None
    items = session.execute(
        select(DrawItem, Caseworker.unit_id)
        .join(Caseworker, DrawItem.caseworker_id == Caseworker.id)
        .where(DrawItem.draw_id == rnd.draw_id)
        .order_by(DrawItem.order)
    ).all()
    by_team: dict[int | None, list[DrawItem]] = defaultdict(list)
    for item, team in items:
        by_team[team].append(item)
    rng = np.random.default_rng([rnd.id, int(draw.seed) % (2**63)])
    pointer = 0
    chosen: list[CalibrationCase] = []
    for team_id in sorted(by_team, key=lambda u: (u is None, u or 0)):
        team_items = by_team[team_id]
        k = min(setting.cases_per_team, len(team_items))
        picks = sorted(rng.choice(len(team_items), size=k, replace=False).tolist())
        for index in picks:
            own = {u.id for u in leaders if team_id is not None and team_id in u.unit_ids}
            candidates = [u for u in leaders if u.id not in own]
            if not candidates:
                continue
            reviewer = candidates[pointer % len(candidates)]
            pointer += 1
            case = CalibrationCase(
                round_id=rnd.id,
                draw_item_id=team_items[index].id,
                unit_id=team_id,
                reviewer_id=reviewer.id,
                status=SecondStatus.ASSIGNED,
            )
            session.add(case)
            chosen.append(case)
    session.flush()
    audit.record(
        session,
        actor,
        "assign",
        "calibration",
        rnd.id,
        f"Kalibrering i {round_label(rnd)}: {len(chosen)} sager til anden gennemgang",
        {"cases": [c.draw_item_id for c in chosen], "reviewers": [c.reviewer_id for c in chosen]},
    )
    return chosen


def assign_pending(session: Session, actor: User | None = None) -> list[str]:
    """:func:`assign_round` for every drawn or in-review round of a plan with an active option
    that has no calibration cases yet (run by the scheduler after its draws). Report lines."""
    have = select(CalibrationCase.round_id).distinct()
    rounds = session.scalars(
        select(Round)
        .join(CalibrationSetting, CalibrationSetting.plan_id == Round.plan_id)
        .where(
            CalibrationSetting.active.is_(True),
            Round.draw_id.is_not(None),
            Round.status.in_((RoundStatus.DRAWN, RoundStatus.IN_REVIEW)),
            Round.id.not_in(have),
        )
        .order_by(Round.id)
    ).all()
    lines = []
    for rnd in rounds:
        chosen = assign_round(session, actor, rnd)
        lines.append(f"Kalibrering: {round_label(rnd)}: {len(chosen)} sager til anden gennemgang")
    return lines


# ------------------------------------------------------------------------- second reviews


def _case(session: Session, case_id: int) -> CalibrationCase:
    return get_or_raise(
        session, CalibrationCase, case_id, CalibrationError(_("Kalibreringssagen findes ikke."))
    )


def _may_review(actor: User | None, case: CalibrationCase) -> bool:
    """The assigned leader (and an administrator, who may do what any leader does)."""
    return actor is None or actor.id == case.reviewer_id or role_of(actor) is Role.ADMIN


@dataclass(frozen=True)
class SecondPage:
    """The second review form: the case and its points; the first answers only when both
    reviews are completed (blind until then)."""

    case: CalibrationCase
    round: Round
    points: list[ControlPoint]
    values: dict[int, int]
    first: dict[int, ReviewAnswer] | None
    editable: bool


def _first_review(session: Session, case: CalibrationCase) -> CaseReview | None:
    return find_review(session, case.round_id, case.draw_item_id)


def second_review_page(session: Session, actor: User | None, case_id: int) -> SecondPage:
    """The second review of a calibration case (an audited view; the assigned leader only)."""
    case = _case(session, case_id)
    if not _may_review(actor, case):
        raise CalibrationAccessError(_("Sagen er tildelt en anden leder til kalibrering."))
    rnd = session.get(Round, case.round_id)
    assert rnd is not None
    points = applicable_points(review_form_items(session, rnd, case.draw_item))
    values = {a.control_point_id: a.option_id for a in case.answers}
    first = _first_review(session, case)
    both = case.is_completed and first is not None and first.is_completed
    first_answers = {a.control_point_id: a for a in first.answers} if both and first else None
    audit.record(
        session,
        actor,
        "view",
        "calibration_case",
        case.id,
        f"Viste kalibreringen af sag {case.draw_item.case_ref} i {round_label(rnd)}",
        {"round_id": rnd.id, "draw_item_id": case.draw_item_id},
    )
    return SecondPage(case, rnd, points, values, first_answers, not case.is_completed)


def save_second_review(
    session: Session,
    actor: User | None,
    case_id: int,
    answers: Mapping[int, int | None],
    complete: bool,
) -> CalibrationCase:
    """Save the second review (``answers``: control point id → option id). Flushes."""
    case = _case(session, case_id)
    if not _may_review(actor, case):
        raise CalibrationAccessError(_("Sagen er tildelt en anden leder til kalibrering."))
    if case.is_completed:
        raise CalibrationError(_("Den anden gennemgang er afsluttet."))
    first = _first_review(session, case)
    if actor is not None and first is not None and first.reviewer_id == actor.id:
        raise CalibrationError(
            _("Du har selv gennemgået sagen første gang; en anden leder skal kalibrere den.")
        )
    rnd = session.get(Round, case.round_id)
    assert rnd is not None
    points = {
        cp.id: cp for cp in applicable_points(review_form_items(session, rnd, case.draw_item))
    }
    problems: list[str] = []
    clean: dict[int, tuple[int, str]] = {}
    for cp_id, option_id in answers.items():
        cp = points.get(cp_id)
        if cp is None:
            problems.append(_("Kontrolpunkt nr. %(id)s stilles ikke for denne sag.", id=cp_id))
            continue
        if option_id is None:
            continue
        option = next((o for o in cp.scale.options if o.id == option_id), None)
        if option is None:
            problems.append(
                _("%(code)s: svaret hører ikke til kontrolpunktets svarskala.", code=cp.code)
            )
            continue
        clean[cp_id] = (option.id, option.outcome)
    if complete:
        missing = [cp.code for cp_id, cp in points.items() if cp_id not in clean]
        if missing:
            problems.append(
                _(
                    "Gennemgangen kan først afsluttes, når alle kontrolpunkter er besvaret. "
                    "Mangler svar: %(codes)s.",
                    codes=", ".join(sorted(missing)),
                )
            )
    if problems:
        raise CalibrationError(" ".join(problems))
    answer_of = sync_children(
        case.answers,
        clean,
        lambda a: a.control_point_id,
        lambda cp_id: CalibrationAnswer(
            control_point_id=cp_id, option_id=clean[cp_id][0], outcome=clean[cp_id][1]
        ),
    )
    for cp_id, (option_id, outcome) in clean.items():
        answer = answer_of[cp_id]
        answer.option_id = option_id
        answer.outcome = outcome
    case.status = SecondStatus.COMPLETED if complete else SecondStatus.DRAFT
    case.completed_at = utcnow() if complete else None
    session.flush()
    audit.record(
        session,
        actor,
        "complete" if complete else "update",
        "calibration_case",
        case.id,
        f"Anden gennemgang af sag {case.draw_item.case_ref} i {round_label(rnd)} "
        + ("afsluttet" if complete else "gemt som kladde"),
        {"round_id": rnd.id, "draw_item_id": case.draw_item_id, "answered": len(clean)},
    )
    return case


# -------------------------------------------------------------------- agreement and pairs


@dataclass(frozen=True)
class Pair:
    """Two completed answers to one control point of a calibration case."""

    case: CalibrationCase
    control_point: ControlPoint
    first_option_id: int  # as the first reviewer gave it
    second_option_id: int
    resolution: CalibrationResolution | None

    @property
    def agree(self) -> bool:
        return self.first_option_id == self.second_option_id

    def _label(self, option_id: int) -> str:
        return next((o.label for o in self.control_point.scale.options if o.id == option_id), "—")

    @property
    def first_label(self) -> str:
        return self._label(self.first_option_id)

    @property
    def second_label(self) -> str:
        return self._label(self.second_option_id)


def pairs(session: Session, round_ids: Iterable[int]) -> list[Pair]:
    """The answer pairs of the calibration cases whose two reviews are both completed."""
    ids = sorted(set(round_ids))
    if not ids:
        return []
    cases = session.scalars(
        select(CalibrationCase)
        .where(
            CalibrationCase.round_id.in_(ids),
            CalibrationCase.status == SecondStatus.COMPLETED,
        )
        .options(
            selectinload(CalibrationCase.answers)
            .selectinload(CalibrationAnswer.control_point)
            .selectinload(ControlPoint.scale)
            .selectinload(Scale.options),
            selectinload(CalibrationCase.draw_item),
        )
        .order_by(CalibrationCase.round_id, CalibrationCase.id)
    ).all()
    resolutions = {
        (r.case_id, r.control_point_id): r
        for r in session.scalars(
            select(CalibrationResolution).where(
                CalibrationResolution.case_id.in_([c.id for c in cases])
            )
        )
    }
    out: list[Pair] = []
    for case in cases:
        first = find_review(session, case.round_id, case.draw_item_id)
        if first is None or first.status != ReviewStatus.COMPLETED:
            continue
        first_by_cp = {a.control_point_id: a.option_id for a in first.answers}
        for answer in case.answers:
            resolution = resolutions.get((case.id, answer.control_point_id))
            first_option = (
                resolution.first_option_id
                if resolution is not None
                else first_by_cp.get(answer.control_point_id)
            )
            if first_option is None:
                continue
            out.append(Pair(case, answer.control_point, first_option, answer.option_id, resolution))
    return out


@dataclass(frozen=True)
class AgreementRow:
    """Agreement over a set of answer pairs (one control point, or one theme)."""

    key: str  # control point code or theme name
    is_theme: bool
    n: int
    percent: Agreement
    kappa: Agreement
    ac1: Agreement


def _row(key: str, is_theme: bool, group: list[Pair]) -> AgreementRow:
    a = [f"{p.control_point.id}:{p.first_option_id}" for p in group]
    b = [f"{p.control_point.id}:{p.second_option_id}" for p in group]
    categories = sorted(
        {f"{p.control_point.id}:{o.id}" for p in group for o in p.control_point.scale.options}
    )
    return AgreementRow(
        key,
        is_theme,
        len(group),
        percent_agreement(a, b),
        cohen_kappa(a, b, categories=categories),
        gwet_ac1(a, b, categories=categories),
    )


def agreement(session: Session, round_ids: Iterable[int]) -> list[AgreementRow]:
    """Agreement per control point (by code), then per theme, over the rounds' pairs.

    The categories of a control point are the options of its scale (for AC1, the full scale:
    irrCAC's ``categ.labels``); for a theme, the options of each of its points kept apart.
    """
    all_pairs = pairs(session, round_ids)
    by_code: dict[str, list[Pair]] = defaultdict(list)
    by_theme: dict[int, list[Pair]] = defaultdict(list)
    for p in all_pairs:
        by_code[p.control_point.code].append(p)
        by_theme[p.control_point.theme_id].append(p)
    rows = [_row(code, False, group) for code, group in sorted(by_code.items())]
    themes = {t.id: t.name for t in session.scalars(select(Theme).where(Theme.id.in_(by_theme)))}
    rows.extend(
        _row(themes[theme_id], True, group)
        for theme_id, group in sorted(by_theme.items(), key=lambda kv: themes[kv[0]])
    )
    return rows


# -------------------------------------------------------------------------- resolutions


def may_resolve(session: Session, actor: User | None, rnd: Round) -> bool:
    """Leaders named in the plan's option (and admins) resolve disagreements."""
    if actor is None:
        return True
    role = role_of(actor)
    if role is Role.ADMIN:
        return True
    setting = setting_of(session, rnd.plan_id)
    return (
        role is Role.TEAMLEDER
        and setting is not None
        and actor.id in setting.leader_ids
        and can_see_plan(actor, rnd.plan)
    )


def resolve(
    session: Session,
    actor: User | None,
    case_id: int,
    control_point_id: int,
    standing: str,
    reason: str,
) -> CalibrationResolution:
    """Record which answer stands for a disagreement, and why (audited).

    When the second answer stands it replaces the first review's answer, so the estimates and
    the caseworker's feedback use it from then on.
    """
    case = _case(session, case_id)
    rnd = session.get(Round, case.round_id)
    assert rnd is not None
    if not may_resolve(session, actor, rnd):
        raise CalibrationAccessError(
            _("Kun lederne i kalibreringen kan afgøre, hvilket svar der står.")
        )
    try:
        stand = Standing(standing)
    except ValueError:
        raise CalibrationError(_("Vælg, hvilket svar der står.")) from None
    text = (reason or "").strip()
    if not text:
        raise CalibrationError(_("Skriv, hvorfor svaret står."))
    if len(text) > REASON_MAX:
        raise CalibrationError(_("Begrundelsen er for lang (højst %(n)d tegn).", n=REASON_MAX))
    pair = next(
        (
            p
            for p in pairs(session, [rnd.id])
            if p.case.id == case.id and p.control_point.id == control_point_id
        ),
        None,
    )
    if pair is None or pair.agree:
        raise CalibrationError(_("Der er ingen uenighed at afgøre for dette kontrolpunkt."))
    if pair.resolution is not None:
        raise CalibrationError(_("Uenigheden er allerede afgjort."))
    resolution = CalibrationResolution(
        case_id=case.id,
        control_point_id=control_point_id,
        standing=stand.value,
        reason=text,
        first_option_id=pair.first_option_id,
        second_option_id=pair.second_option_id,
        decided_by_name=audit.actor_name(actor),
    )
    session.add(resolution)
    if stand is Standing.SECOND:
        first = find_review(session, case.round_id, case.draw_item_id)
        assert first is not None
        answer = next(a for a in first.answers if a.control_point_id == control_point_id)
        option = next(o for o in pair.control_point.scale.options if o.id == pair.second_option_id)
        answer.option_id = option.id
        answer.outcome = option.outcome
        answer.score = option.score
    session.flush()
    audit.record(
        session,
        actor,
        "resolve",
        "calibration_case",
        case.id,
        f"Kalibrering af sag {case.draw_item.case_ref} ({pair.control_point.code}) i "
        f"{round_label(rnd)}: "
        + ("første svar står" if stand is Standing.FIRST else "andet svar står"),
        {"control_point_id": control_point_id, "standing": stand.value},
    )
    return resolution
