"""Answers prefilled from the case export for data-answered control points.

A control point with a data rule (:mod:`tilsyn.risk.data_answers`) is answered from the
snapshot the round's sample was drawn from: the review form shows the rule's answer, marked
"forudfyldt fra sagsudtræk pr. <dato>", already chosen. The leader confirms it by keeping it
or overrides it by choosing another option *and writing a short reason* (required when the
review is completed). Each answer records the prefilled option (``prefill_option_id``) and the
reason (``override_reason``), so overrides can be counted per control point: they measure how
well the case system's data matches the case file.

A rule that gives no answer for the case (a missing field, no clause holding) prefills nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.catalogue.models import ControlPoint
from tilsyn.risk import data_answers
from tilsyn.risk.population import load_population
from tilsyn.sampling.models import Draw, DrawItem

__all__ = ["OVERRIDE_REASON_MAX", "Prefill", "case_prefills", "override_problems"]

#: Longest override reason (characters).
OVERRIDE_REASON_MAX = 500


@dataclass(frozen=True)
class Prefill:
    """The answer a control point's data rule gives for one case."""

    control_point_id: int
    option_id: int
    option_label: str
    as_of: date
    #: The rule in words (UI language), for the form's explanation.
    rule_lines: tuple[str, ...]


def _rules(points: Sequence[ControlPoint]) -> list[tuple[ControlPoint, data_answers.DataRule]]:
    out = []
    for cp in points:
        rule = data_answers.parse_stored(cp.data_rule)
        if rule is None:
            continue
        if data_answers.validate_rule(rule, {o.code for o in cp.scale.options}):
            continue  # an invalid stored rule prefills nothing
        out.append((cp, rule))
    return out


def case_prefills(
    session: Session, item: DrawItem, points: Sequence[ControlPoint]
) -> dict[int, Prefill]:
    """{control point id: prefill} for the sampled case ``item`` and the form's ``points``."""
    ruled = _rules(points)
    if not ruled:
        return {}
    draw = session.get(Draw, item.draw_id)
    assert draw is not None
    snapshot = draw.snapshot
    # Data rules answer from the export's own fields; the prior-findings attribute (from earlier
    # reviews, not the export) is left unknown, so a rule reading it gives no answer.
    population = load_population(session, snapshot, [item.case_id], prior_findings={})
    if len(population) != 1:
        return {}
    out: dict[int, Prefill] = {}
    for cp, rule in ruled:
        code = data_answers.evaluate(rule, population.attributes)[0]
        if code is None:
            continue
        option = next(o for o in cp.scale.options if o.code == code)
        labels = {o.code: o.label for o in cp.scale.options}
        out[cp.id] = Prefill(
            control_point_id=cp.id,
            option_id=option.id,
            option_label=option.label,
            as_of=snapshot.as_of,
            rule_lines=tuple(data_answers.rule_lines(rule, labels)),
        )
    return out


def override_problems(
    points: Sequence[ControlPoint],
    prefills: Mapping[int, Prefill],
    chosen: Mapping[int, int | None],
    reasons: Mapping[int, str],
    *,
    complete: bool,
) -> list[str]:
    """Problems with the override reasons (UI language): too long, or missing on completion.

    ``chosen`` maps control point id to the chosen option id; ``reasons`` to the reason given.
    """
    problems: list[str] = []
    for cp in points:
        reason = (reasons.get(cp.id) or "").strip()
        if len(reason) > OVERRIDE_REASON_MAX:
            problems.append(
                _(
                    "%(code)s: begrundelsen er for lang (højst %(n)d tegn).",
                    code=cp.code,
                    n=OVERRIDE_REASON_MAX,
                )
            )
        prefill = prefills.get(cp.id)
        option_id = chosen.get(cp.id)
        overridden = (
            prefill is not None and option_id is not None and option_id != prefill.option_id
        )
        if complete and overridden and not reason:
            problems.append(
                _(
                    "%(code)s: svaret afviger fra det forudfyldte svar fra sagsudtrækket; "
                    "skriv kort hvorfor.",
                    code=cp.code,
                )
            )
    return problems
