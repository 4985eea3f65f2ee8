"""Demo findings: completed reviews for the closed demo rounds, a partly reviewed current round.

Registered in :data:`tilsyn.demo.DEMO_EXTENSIONS` after the rounds extension. Every answer is
drawn from the extension's own generator in a fixed order, so a demo seed always gives the same
findings.

The answers follow the findings of the national audits that motivate the tool (the
Jobafklaringsforløb audit 2020, the Fleksjob audit 2021 and the Hedensted sygedagpenge analysis;
the figures are carried here, see the demo in ``README.md``), at population level around the
middle of the period: a concrete job goal in about a third of the cases, 6 conversations a year
in about 68 %, CV on Jobnet within 3 weeks in about 49 %, the rehabilitation team within 4 weeks
in about 28 %, re-assessments on time in about 65 %, and an overall 1–3 score averaging about
1.9. On top of a control point's base rate (on the logit scale):

* **risk:** each risk point above the draw's estimated mean risk lowers the log-odds of "in
  order" by :data:`RISK_EFFECT`. The sample leans towards risky cases, so the raw share in the
  sample is visibly lower than the design-weighted estimate;
* **case and caseworker:** a shared case effect and a caseworker effect (a well-run case tends to
  be in order on several points);
* **what the export says:** a registered job goal, CV on Jobnet or at least 6 conversations make
  the matching control point more likely to be in order;
* **trend:** none by default (:data:`TREND_PER_QUARTER`): most core points are stable;
* **story** (:data:`STORY`): JOBMAAL-03 (how goals and efforts lead to a job) improves clearly
  from 2026-K2, after the rotating theme INDSATS in 2026-K1 and its follow-up; SAMLET-02
  (systematic follow-up) moves a little from 2026-K2, within the statistical uncertainty.

**Data-answered control points** (those with a data rule, :mod:`tilsyn.reviews.prefill`) are
answered from the export: the leader confirms the prefilled answer, except in
:data:`OVERRIDE_SHARE` of the cases, where the other outcome is chosen with one of
:data:`OVERRIDE_REASONS`. Their rates are therefore the export's (a registered job goal in about
46 %, a CV on Jobnet in about 68 %, …), and the census beside the estimate agrees with the
sample up to sampling error (the *Metodekontrol* page). Where the rule gives no answer (a
missing field), the answer is drawn as for any other point.

"Not applicable" is used where the control point allows it and the case plausibly does not
qualify (e.g. a case under 12 months for "6 conversations in 12 months"); control points for
other schemes are not asked at all, as in the review form. The current round (under review)
gets completed reviews for about half of its cases and a few drafts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import ControlPoint, Outcome, ScaleOption
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.risk import data_answers
from tilsyn.risk.population import load_population
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus, SupervisionPlan
from tilsyn.sampling.models import Draw, DrawItem

#: Share of prefilled (data-answered) answers the demo leader overrides, and the reasons given.
OVERRIDE_SHARE = 0.02
OVERRIDE_REASONS = (
    "Sagsudtrækket er ikke opdateret; sagen siger noget andet.",
    "Oplysningen i sagen er nyere end udtrækket.",
    "Registreringen opfylder ikke kravet ved gennemlæsning af sagen.",
)

#: Share in order at population level (before the effects below), per control point code.
BASE_RATES: dict[str, float] = {
    "JOBMAAL-01": 0.38,
    "JOBMAAL-02": 0.55,
    "JOBMAAL-03": 0.45,
    "SAMLET-01": 0.72,
    "SAMLET-02": 0.52,
    "SAMLET-03": 0.60,
    "RETTID-01": 0.28,
    "RETTID-02": 0.65,
    "RETTID-03": 0.70,
    "RETTID-04": 0.75,
    "RETTID-05": 0.62,
    "CV-01": 0.50,
    "CV-02": 0.40,
    "BORGER-01": 0.66,
    "BORGER-02": 0.55,
    "BORGER-03": 0.61,
    "INDSATS-01": 0.70,
    "INDSATS-02": 0.50,
    "INDSATS-03": 0.55,
    "INDSATS-04": 0.80,
    "INDSATS-05": 0.60,
    "INDSATS-06": 0.55,
    "UARB-01": 0.55,
    "UARB-02": 0.62,
    "UARB-03": 0.50,
    "UARB-04": 0.70,
    "HELBRED-01": 0.65,
    "HELBRED-02": 0.72,
    "HELBRED-03": 0.75,
    "HELBRED-04": 0.40,
    "FORL-01": 0.54,
    "FORL-02": 0.60,
    "FORL-03": 0.60,
    "FORL-04": 0.65,
    "FLEKS-01": 0.53,
    "FLEKS-02": 0.85,
    "FLEKS-03": 0.70,
    "OEKONOMI-01": 0.97,
    "OEKONOMI-02": 0.85,
}
DEFAULT_RATE = 0.60
#: Probability of "not applicable" where a scale offers it and no case fact decides it.
NA_RATES: dict[str, float] = {
    "RETTID-01": 0.05,
    "CV-01": 0.25,
    "HELBRED-01": 0.30,
    "HELBRED-02": 0.35,
    "HELBRED-05": 0.20,
    "FLEKS-01": 0.40,
    "FLEKS-03": 0.45,
    "INDSATS-05": 0.25,
    "OEKONOMI-02": 0.10,
}
DEFAULT_NA_RATE = 0.10
#: Case age (days, at the snapshot) below which the control point is not applicable.
MIN_AGE_DAYS: dict[str, int] = {
    "RETTID-02": 365,  # the re-assessment starts after 12 months on ledighedsydelse
    "RETTID-03": 365,  # 6 conversations in the last 12 months
    "RETTID-04": 154,  # 22 weeks
    "RETTID-05": 183,  # 6 months on ledighedsydelse
    "FORL-01": 154,
    "FORL-02": 154,
    "FORL-03": 154,
    "FORL-04": 154,
}
#: Share of extended sygedagpenge cases among those past 22 weeks (FORL-* otherwise N/A).
EXTENDED_SHARE = 0.6
RISK_EFFECT = 0.45
TREND_PER_QUARTER = 0.0
#: Demo story: control point code -> (first period start with the shift, logit shift).
STORY: dict[str, tuple[date, float]] = {
    "JOBMAAL-03": (date(2026, 4, 1), 1.5),
    "SAMLET-02": (date(2026, 4, 1), 0.3),
}
CASE_EFFECT_SD = 0.55
CASEWORKER_EFFECT_SD = 0.30
#: Among answers in order on a scored scale, the share given the highest score.
HIGH_SCORE_SHARE = 0.18
#: Current round: share of cases with a completed review, and with a draft.
CURRENT_COMPLETED, CURRENT_DRAFT = 0.5, 0.12


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class _Point:
    id: int
    code: str
    schemes: tuple[str, ...]
    options: dict[str, list[tuple[int, float | None]]]  # outcome -> [(option id, score)]
    #: option code -> (option id, outcome, score)
    by_code: dict[str, tuple[int, str, float | None]]
    rule: data_answers.DataRule | None

    def applies_to(self, scheme: str) -> bool:
        return not self.schemes or scheme in self.schemes


@dataclass(frozen=True)
class _CaseFacts:
    age_days: int
    job_goal: bool | None
    cv_on_jobnet: bool | None
    conversations_12m: int | None


def _fact_shift(code: str, facts: _CaseFacts) -> float:
    """Log-odds shift from what the export says about the case."""
    if code in ("JOBMAAL-01", "JOBMAAL-02") and facts.job_goal is not None:
        return 1.0 if facts.job_goal else -1.0
    if code == "CV-01" and facts.cv_on_jobnet is not None:
        return 1.2 if facts.cv_on_jobnet else -1.4
    if code == "RETTID-03" and facts.conversations_12m is not None:
        return 1.6 if facts.conversations_12m >= 6 else -1.8
    return 0.0


def _not_applicable(
    rng: np.random.Generator, point: _Point, facts: _CaseFacts, extended: bool
) -> bool:
    if Outcome.NOT_APPLICABLE not in point.options:
        return False
    if point.code.startswith("FORL-"):
        return not extended
    minimum = MIN_AGE_DAYS.get(point.code)
    if minimum is not None:
        return facts.age_days < minimum
    return bool(rng.random() < NA_RATES.get(point.code, DEFAULT_NA_RATE))


def _choose(
    rng: np.random.Generator, options: list[tuple[int, float | None]]
) -> tuple[int, float | None]:
    """One option among those with the chosen outcome (the best score only now and then)."""
    if len(options) == 1:
        return options[0]
    scored = [o for o in options if o[1] is not None]
    if len(scored) == len(options):
        best = max(options, key=lambda o: o[1] or 0.0)
        others = [o for o in options if o is not best]
        if rng.random() < HIGH_SCORE_SHARE:
            return best
        return others[int(rng.integers(len(others)))]
    return options[int(rng.integers(len(options)))]


def _load_points(session: Session, round_ids: list[int]) -> dict[int, list[_Point]]:
    rows = session.scalars(
        select(RoundControlPoint)
        .where(RoundControlPoint.round_id.in_(round_ids))
        .options(selectinload(RoundControlPoint.control_point).selectinload(ControlPoint.scale))
    ).all()
    scale_ids = {r.control_point.scale_id for r in rows}
    options: dict[int, dict[str, list[tuple[int, float | None]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    by_code: dict[int, dict[str, tuple[int, str, float | None]]] = defaultdict(dict)
    for opt in session.scalars(
        select(ScaleOption)
        .where(ScaleOption.scale_id.in_(scale_ids))
        .order_by(ScaleOption.scale_id, ScaleOption.position)
    ):
        options[opt.scale_id][opt.outcome].append((opt.id, opt.score))
        by_code[opt.scale_id][opt.code] = (opt.id, opt.outcome, opt.score)
    out: dict[int, list[_Point]] = defaultdict(list)
    for r in rows:
        cp = r.control_point
        rule = data_answers.parse_stored(cp.data_rule)
        if rule is not None and data_answers.validate_rule(rule, by_code[cp.scale_id]):
            rule = None
        out[r.round_id].append(
            _Point(
                cp.id,
                cp.code,
                tuple(cp.schemes or ()),
                dict(options[cp.scale_id]),
                by_code[cp.scale_id],
                rule,
            )
        )
    for points in out.values():
        points.sort(key=lambda p: p.code)
    return out


def _rule_answers(
    session: Session, rounds: list[Round], points: dict[int, list[_Point]]
) -> dict[tuple[int, int], str]:
    """{(control point id, case id): option code} the data rules give on the draws' snapshots."""
    snapshot_ids = set(
        session.scalars(
            select(Draw.snapshot_id).where(Draw.id.in_([r.draw_id for r in rounds if r.draw_id]))
        )
    )
    ruled = {p.id: p for ps in points.values() for p in ps if p.rule is not None}
    out: dict[tuple[int, int], str] = {}
    for snapshot_id in sorted(snapshot_ids):
        snapshot = session.get(Snapshot, snapshot_id)
        assert snapshot is not None
        population = load_population(session, snapshot, prior_findings={})
        case_ids = population.case_ids.tolist()
        for cp_id, p in ruled.items():
            assert p.rule is not None
            codes = data_answers.evaluate(p.rule, population.attributes).tolist()
            for case_id, code in zip(case_ids, codes, strict=True):
                if code is not None:
                    out[(cp_id, int(case_id))] = str(code)
    return out


def _reviewer(plan: SupervisionPlan, actor: User) -> User:
    leaders = sorted(
        (u for u in (plan.unit.leaders if plan.unit else []) if u.active), key=lambda u: u.id
    )
    return leaders[0] if leaders else actor


def _moment(rng: np.random.Generator, rnd: Round, today: date) -> datetime:
    """A working-day moment inside the round's review window (not after today)."""
    last = rnd.review_deadline or rnd.period_end
    last = min(last, today)
    span = max((last - rnd.period_start).days, 0)
    day = rnd.period_start + timedelta(days=int(rng.integers(span + 1)))
    return datetime.combine(day, time(8)) + timedelta(minutes=int(rng.integers(8 * 60)))


def _data_answer(rng: np.random.Generator, p: _Point, prefill: str) -> dict[str, Any]:
    """The answer to a data-answered point: the prefilled one, now and then overridden."""
    prefill_id, outcome, score = p.by_code[prefill]
    option_id, reason = prefill_id, ""
    flip = {Outcome.IN_ORDER: Outcome.NOT_IN_ORDER, Outcome.NOT_IN_ORDER: Outcome.IN_ORDER}
    if outcome in flip and p.options.get(flip[Outcome(outcome)]) and rng.random() < OVERRIDE_SHARE:
        outcome = flip[Outcome(outcome)]
        option_id, score = _choose(rng, p.options[outcome])
        reason = OVERRIDE_REASONS[int(rng.integers(len(OVERRIDE_REASONS)))]
    return {
        "control_point_id": p.id,
        "option_id": option_id,
        "outcome": outcome,
        "score": score,
        "note": "",
        "prefill_option_id": prefill_id,
        "override_reason": reason,
    }


def add_demo_reviews(session: Session, actor: User, rng: np.random.Generator, today: date) -> None:
    """Reviews for every sampled case of the closed demo rounds and part of the current ones."""
    rounds = session.scalars(
        select(Round)
        .where(
            Round.draw_id.is_not(None),
            Round.status.in_((RoundStatus.CLOSED, RoundStatus.IN_REVIEW)),
        )
        .options(selectinload(Round.plan).selectinload(SupervisionPlan.unit))
        .order_by(Round.plan_id, Round.period_start)
    ).all()
    if not rounds:
        return
    points = _load_points(session, [r.id for r in rounds])
    quarters = {start: i for i, start in enumerate(sorted({r.period_start for r in rounds}))}
    middle = (len(quarters) - 1) / 2
    draw_ids = sorted({r.draw_id for r in rounds if r.draw_id is not None})
    items_by_draw: dict[int, list[DrawItem]] = defaultdict(list)
    for it in session.scalars(
        select(DrawItem)
        .where(DrawItem.draw_id.in_(draw_ids))
        .order_by(DrawItem.draw_id, DrawItem.order)
    ):
        items_by_draw[it.draw_id].append(it)
    case_ids = {it.case_id for items in items_by_draw.values() for it in items}
    facts: dict[int, _CaseFacts] = {}
    for case_id, start, as_of, goal, cv, conversations in session.execute(
        select(
            Case.id,
            Case.start_date,
            Snapshot.as_of,
            Case.job_goal,
            Case.cv_on_jobnet,
            Case.conversations_12m,
        )
        .join(Snapshot, Case.snapshot_id == Snapshot.id)
        .where(Case.id.in_(case_ids))
    ):
        facts[case_id] = _CaseFacts((as_of - start).days, goal, cv, conversations)
    rule_answers = _rule_answers(session, list(rounds), points)
    caseworker_ids = sorted({it.caseworker_id for items in items_by_draw.values() for it in items})
    caseworker_effect = dict(
        zip(caseworker_ids, rng.normal(0.0, CASEWORKER_EFFECT_SD, len(caseworker_ids)), strict=True)
    )

    all_reviews: list[dict[str, Any]] = []
    all_answers: list[list[dict[str, Any]]] = []
    summaries: list[tuple[Round, int, int, int]] = []
    for rnd in rounds:
        assert rnd.draw_id is not None
        items = items_by_draw[rnd.draw_id]
        if not items:
            continue
        weights = np.array([1.0 / it.inclusion_probability for it in items])
        risks = np.array([it.risk_score for it in items])
        centre = float((weights * risks).sum() / weights.sum())  # Hájek mean risk
        trend = TREND_PER_QUARTER * (quarters[rnd.period_start] - middle)
        reviewer = _reviewer(rnd.plan, actor)
        review_rows: list[dict[str, Any]] = []
        planned: list[list[dict[str, Any]]] = []
        for it in items:
            if rnd.status == RoundStatus.CLOSED:
                status: str | None = ReviewStatus.COMPLETED
            else:
                u = rng.random()
                status = (
                    ReviewStatus.COMPLETED
                    if u < CURRENT_COMPLETED
                    else ReviewStatus.DRAFT
                    if u < CURRENT_COMPLETED + CURRENT_DRAFT
                    else None
                )
            case_effect = float(rng.normal(0.0, CASE_EFFECT_SD))
            extended = bool(rng.random() < EXTENDED_SHARE)
            started = _moment(rng, rnd, today)
            if status is None:
                continue
            case_facts = facts[it.case_id]
            shift = (
                trend
                + case_effect
                + caseworker_effect[it.caseworker_id]
                - RISK_EFFECT * (it.risk_score - centre)
            )
            applicable = [p for p in points[rnd.id] if p.applies_to(it.scheme)]
            if status == ReviewStatus.DRAFT:
                applicable = applicable[: max(1, len(applicable) // 2)]
            answers = []
            for p in applicable:
                prefill = rule_answers.get((p.id, it.case_id))
                if prefill is not None:
                    answers.append(_data_answer(rng, p, prefill))
                    continue
                if _not_applicable(rng, p, case_facts, extended):
                    option_id, score = _choose(rng, p.options[Outcome.NOT_APPLICABLE])
                    outcome = Outcome.NOT_APPLICABLE
                else:
                    base = _logit(BASE_RATES.get(p.code, DEFAULT_RATE))
                    story_from, story_shift = STORY.get(p.code, (date.max, 0.0))
                    if rnd.period_start >= story_from:
                        base += story_shift
                    chance = _sigmoid(base + shift + _fact_shift(p.code, case_facts))
                    outcome = Outcome.IN_ORDER if rng.random() < chance else Outcome.NOT_IN_ORDER
                    option_id, score = _choose(rng, p.options[outcome])
                answers.append(
                    {
                        "control_point_id": p.id,
                        "option_id": option_id,
                        "outcome": outcome,
                        "score": score,
                        "note": "",
                        "prefill_option_id": None,
                        "override_reason": "",
                    }
                )
            finished = started + timedelta(minutes=20 + int(rng.integers(70)))
            review_rows.append(
                {
                    "round_id": rnd.id,
                    "draw_item_id": it.id,
                    "case_id": it.case_id,
                    "caseworker_id": it.caseworker_id,
                    "reviewer_id": reviewer.id,
                    "reviewer_name": reviewer.username,
                    "status": status,
                    "started_at": started,
                    "updated_at": finished,
                    "completed_at": finished if status == ReviewStatus.COMPLETED else None,
                    "overall_note": "",
                }
            )
            planned.append(answers)
        all_reviews.extend(review_rows)
        all_answers.extend(planned)
        if review_rows:
            completed = sum(1 for row in review_rows if row["status"] == ReviewStatus.COMPLETED)
            summaries.append((rnd, completed, len(review_rows), sum(len(a) for a in planned)))

    # One multi-row INSERT … RETURNING for the reviews and one executemany for the answers
    # (Core statements on the tables: the ORM's bulk path would split rows with NULLs).
    reviews_table = CaseReview.__table__
    answers_table = ReviewAnswer.__table__
    if all_reviews:
        ids = (
            session.execute(
                insert(reviews_table).returning(reviews_table.c.id, sort_by_parameter_order=True),
                all_reviews,
            )
            .scalars()
            .all()
        )
        answer_rows = [
            {**answer, "review_id": review_id}
            for review_id, answers in zip(ids, all_answers, strict=True)
            for answer in answers
        ]
        if answer_rows:
            session.execute(insert(answers_table), answer_rows)
    for rnd, completed, n_reviews, n_answers in summaries:
        audit.record(
            session,
            actor,
            "demo",
            "case_review",
            None,
            f"Demo: {completed} afsluttede og {n_reviews - completed} påbegyndte "
            f"gennemgange i {rnd.plan.name} {rnd.period_label}",
            {"round_id": rnd.id, "reviews": n_reviews, "answers": n_answers},
        )
    session.flush()
