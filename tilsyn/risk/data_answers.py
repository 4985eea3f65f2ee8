"""Data-answered control points: a rule on the snapshot's case fields that gives the answer.

Many control points are facts the case system already holds (a re-assessment deadline passed,
a CV on Jobnet, a job goal registered, six conversations a year). Such a control point carries
a *data rule* written in the risk model's rule language (:mod:`tilsyn.risk.rules`): an ordered
list of clauses, each a list of conditions on the case attributes of
:data:`tilsyn.risk.rules.ATTRIBUTES` and the code of the answer option it gives::

    [
        {"when": [{"attribute": "weeks_open", "operator": "<", "value": 52}], "answer": "ir"},
        {"when": [{"attribute": "conversations_12m", "operator": ">=", "value": 6}],
         "answer": "ja"},
        {"when": [{"attribute": "conversations_12m", "operator": "<", "value": 6}],
         "answer": "nej"},
    ]

For each case the clauses are read in order:

* if a field that the clause tests is missing for the case (NaN, an unknown scheme), the rule
  gives **no answer** for the case — a missing field never becomes a finding (conditions with
  the ``missing`` operator are the exception: they test the absence itself);
* otherwise, if every condition of the clause holds, the clause's answer is the rule's answer;
* otherwise the next clause is read; after the last clause there is no answer.

The rule is stored as JSON on the control point version (``ControlPoint.data_rule``); this
module parses, validates, evaluates (vectorised over all cases of a snapshot) and renders it in
words. It holds no database code: callers pass the attribute arrays of
``tilsyn.risk.population.load_population``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_babel import gettext as _
from numpy.typing import NDArray

from tilsyn.risk import rules

__all__ = [
    "Clause",
    "DataRule",
    "answers_for_points",
    "evaluate",
    "parse_rule",
    "parse_stored",
    "rule_attributes",
    "rule_lines",
    "rule_to_data",
    "validate_rule",
]


@dataclass(frozen=True)
class Clause:
    """``conditions`` (all must hold) give the answer option ``answer`` (an option code)."""

    conditions: tuple[rules.Condition, ...]
    answer: str


@dataclass(frozen=True)
class DataRule:
    """An ordered list of clauses; the first clause that holds gives the answer."""

    clauses: tuple[Clause, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        return rule_attributes(self)


def _condition(raw: Any, where: str) -> rules.Condition:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: a condition must be a table with attribute, operator, value")
    unknown = sorted(set(raw) - {"attribute", "operator", "value"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    factor = rules.factor_from_dict(
        {
            "code": "c",
            "label": "c",
            "attribute": raw.get("attribute"),
            "operator": raw.get("operator"),
            "value": raw.get("value"),
            "weight": 0.0,
        }
    )
    return factor.condition


def parse_rule(data: Any) -> DataRule:
    """Build a :class:`DataRule` from its JSON/TOML form (a list of clause tables).

    Checks the shape only (see :func:`validate_rule` for the content).

    Raises
    ------
    ValueError
        If the data is not a non-empty list of ``{"when": [...], "answer": "..."}`` tables.
    """
    if not isinstance(data, list | tuple) or not data:
        raise ValueError("a data rule must be a non-empty list of clauses")
    clauses: list[Clause] = []
    for i, raw in enumerate(data, start=1):
        where = f"clause {i}"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: must be a table with 'when' and 'answer'")
        unknown = sorted(set(raw) - {"when", "answer"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
        when = raw.get("when")
        if not isinstance(when, list | tuple) or not when:
            raise ValueError(f"{where}: 'when' must be a non-empty list of conditions")
        answer = raw.get("answer")
        if not isinstance(answer, str) or not answer:
            raise ValueError(f"{where}: 'answer' must be an option code")
        conditions = tuple(_condition(c, f"{where}, condition {j}") for j, c in enumerate(when, 1))
        clauses.append(Clause(conditions, answer))
    return DataRule(tuple(clauses))


def rule_to_data(rule: DataRule) -> list[dict[str, Any]]:
    """The JSON form of a rule (inverse of :func:`parse_rule`)."""
    out: list[dict[str, Any]] = []
    for clause in rule.clauses:
        when = []
        for c in clause.conditions:
            value: Any = list(c.value) if isinstance(c.value, tuple) else c.value
            when.append({"attribute": c.attribute, "operator": c.operator, "value": value})
        out.append({"when": when, "answer": clause.answer})
    return out


def _as_factor(clause: Clause, index: int) -> rules.Factor:
    first, *rest = clause.conditions
    return rules.Factor(
        code=f"clause_{index}",
        label=f"clause {index}",
        attribute=first.attribute,
        operator=first.operator,
        value=first.value,
        weight=0.0,
        rationale="data rule",
        when=tuple(rest),
    )


def validate_rule(rule: DataRule, option_codes: Collection[str]) -> list[str]:
    """Problems with a rule (UI language); empty when it is valid.

    Every condition must be valid in the risk model's rule language and every answer must be
    one of ``option_codes`` (the codes of the control point's answer scale).
    """
    problems: list[str] = []
    for i, clause in enumerate(rule.clauses, start=1):
        prefix = _("Regel %(num)d: ", num=i)
        problems.extend(prefix + p for p in rules.validate_factor(_as_factor(clause, i)))
        if clause.answer not in option_codes:
            problems.append(
                prefix
                + _(
                    "svaret »%(answer)s« findes ikke på kontrolpunktets svarskala.",
                    answer=clause.answer,
                )
            )
    return problems


def rule_attributes(rule: DataRule) -> tuple[str, ...]:
    """The case attributes the rule reads, in order of first use."""
    seen: dict[str, None] = {}
    for clause in rule.clauses:
        for c in clause.conditions:
            seen.setdefault(c.attribute, None)
    return tuple(seen)


def evaluate(rule: DataRule, attributes: Mapping[str, NDArray[Any]]) -> NDArray[np.object_]:
    """The rule's answer (option code, or None for no answer) for every case.

    Parameters
    ----------
    rule : DataRule
        A valid rule (see :func:`validate_rule`).
    attributes : mapping of str to ndarray
        One array per case attribute, aligned over the cases (as ``Population.attributes``);
        every attribute the rule reads must be present.

    Returns
    -------
    ndarray of object
        Option code or None per case.
    """
    factors = [_as_factor(c, i) for i, c in enumerate(rule.clauses)]
    names = rule_attributes(rule)
    missing_factors = [
        rules.Factor(
            code=f"missing_{j}",
            label=name,
            attribute=name,
            operator="missing",
            value=None,
            weight=0.0,
            rationale="data rule",
        )
        for j, name in enumerate(names)
    ]
    result = rules.score([*factors, *missing_factors], attributes)
    n = result.fired.shape[0]
    k = len(factors)
    missing_of = {name: result.fired[:, k + j] for j, name in enumerate(names)}
    answer = np.full(n, None, dtype=object)
    decided = np.zeros(n, dtype=np.bool_)
    for j, clause in enumerate(rule.clauses):
        unknown = np.zeros(n, dtype=np.bool_)
        for c in clause.conditions:
            if c.operator != "missing":
                unknown |= missing_of[c.attribute]
        take = ~decided & ~unknown & result.fired[:, j]
        answer[take] = clause.answer
        decided |= take | unknown
    return answer


def rule_lines(rule: DataRule, option_labels: Mapping[str, str]) -> list[str]:
    """The rule in words (UI language), one line per clause and a closing line.

    ``option_labels`` maps option codes to their labels on the control point's scale.
    """
    lines: list[str] = []
    for clause in rule.clauses:
        conditions = _(" og ").join(rules.condition_text(c) for c in clause.conditions)
        label = option_labels.get(clause.answer, clause.answer)
        lines.append(_("Hvis %(conditions)s: »%(answer)s«", conditions=conditions, answer=label))
    lines.append(
        _("Ellers, eller hvis et af felterne mangler i sagsudtrækket: intet forudfyldt svar.")
    )
    return lines


def answers_for_points(
    rules_by_point: Mapping[int, DataRule],
    attributes: Mapping[str, NDArray[Any]],
) -> dict[int, NDArray[np.object_]]:
    """:func:`evaluate` for several control points (id → rule) on the same cases."""
    return {cp_id: evaluate(rule, attributes) for cp_id, rule in rules_by_point.items()}


def parse_stored(data: Any) -> DataRule | None:
    """The rule stored on a control point (None when there is none or it no longer parses)."""
    if data is None:
        return None
    try:
        return parse_rule(data)
    except ValueError:
        return None
