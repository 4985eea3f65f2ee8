"""The starter catalogue of control points (*kontrolpunkter*), shipped as package data.

The catalogue is pure data: answer scales, themes and control points, read from
``starter.toml`` and validated on load. Nothing here touches the database; seeding a
municipality's catalogue from these definitions is done elsewhere.

Codes (scale, option, theme and control-point codes) are stable identities: results are
compared over time by code, so a code must never be reused for different content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, cast

from tilsyn.schemes import SCHEMES
from tilsyn.settings import load_toml

__all__ = [
    "OUTCOMES",
    "Catalogue",
    "ControlPointDef",
    "OptionDef",
    "Outcome",
    "ScaleDef",
    "ThemeDef",
    "load_starter",
    "parse_catalogue",
]

Outcome = Literal["in_order", "not_in_order", "not_applicable"]

#: Allowed outcomes of an answer option. ``not_applicable`` answers are excluded from the
#: denominator of every estimate.
OUTCOMES: tuple[Outcome, ...] = ("in_order", "not_in_order", "not_applicable")

_STARTER_RESOURCE = "starter.toml"


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


_C = TypeVar("_C", bound=_Coded)


def _by_code(items: Iterable[_C], code: str, missing: str) -> _C:
    """The item with ``code``; KeyError with the message ``missing`` if there is none."""
    for item in items:
        if item.code == code:
            return item
    raise KeyError(missing)


@dataclass(frozen=True)
class OptionDef:
    """One answer option of a scale."""

    code: str
    label: str
    outcome: Outcome
    score: float | None = None


@dataclass(frozen=True)
class ScaleDef:
    """An answer scale: an ordered tuple of options."""

    code: str
    name: str
    options: tuple[OptionDef, ...]

    def option(self, code: str) -> OptionDef:
        """Return the option with ``code``; raise KeyError if there is none."""
        return _by_code(self.options, code, f"scale {self.code!r} has no option {code!r}")

    def outcome(self, code: str) -> Outcome:
        """Return the outcome (in_order / not_in_order / not_applicable) of option ``code``."""
        return self.option(code).outcome


@dataclass(frozen=True)
class ControlPointDef:
    """A control point (*kontrolpunkt*). ``schemes`` empty means: applies to all schemes."""

    code: str
    theme_code: str
    question: str
    help_text: str
    legal_reference: str | None
    schemes: tuple[str, ...]
    scale_code: str
    #: Data rule answering the point from the case export (JSON form, see
    #: ``tilsyn.risk.data_answers``), or None. Checked here for shape and answer codes only;
    #: the conditions are checked in the risk rule language where the rule is used.
    data_rule: list[dict[str, Any]] | None = field(default=None, hash=False)

    def applies_to(self, scheme: str) -> bool:
        """True if the control point is asked for cases of ``scheme``."""
        return not self.schemes or scheme in self.schemes


@dataclass(frozen=True)
class ThemeDef:
    """A theme (*tema*). ``core`` themes are asked every round; the others rotate."""

    code: str
    name: str
    description: str
    core: bool
    control_points: tuple[ControlPointDef, ...]


@dataclass(frozen=True)
class Catalogue:
    """A validated catalogue of scales, themes and control points."""

    name: str
    description: str
    scales: tuple[ScaleDef, ...]
    themes: tuple[ThemeDef, ...]

    @property
    def control_points(self) -> tuple[ControlPointDef, ...]:
        """All control points, in theme order."""
        return tuple(cp for theme in self.themes for cp in theme.control_points)

    @property
    def core_themes(self) -> tuple[ThemeDef, ...]:
        return tuple(t for t in self.themes if t.core)

    @property
    def core_control_points(self) -> tuple[ControlPointDef, ...]:
        return tuple(cp for t in self.core_themes for cp in t.control_points)

    def scale(self, code: str) -> ScaleDef:
        return _by_code(self.scales, code, f"no scale {code!r}")

    def theme(self, code: str) -> ThemeDef:
        return _by_code(self.themes, code, f"no theme {code!r}")

    def control_point(self, code: str) -> ControlPointDef:
        return _by_code(self.control_points, code, f"no control point {code!r}")


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------

_TOP_KEYS = {"name", "description", "scales", "themes"}
_SCALE_KEYS = {"code", "name", "options"}
_OPTION_KEYS = {"code", "label", "outcome", "score"}
_THEME_KEYS = {"code", "name", "description", "core", "control_points"}
_POINT_KEYS = {"code", "question", "help", "legal_reference", "schemes", "scale", "rule"}
_RULE_KEYS = {"when", "answer"}
_CONDITION_KEYS = {"attribute", "operator", "value"}


class _Errors:
    """Collects validation problems so that one ValueError can report all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def unknown_keys(self, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            self.add(where, f"unknown key(s) {', '.join(map(repr, extra))}")

    def text(self, where: str, table: Mapping[str, Any], key: str, *, required: bool = True) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.add(where, f"missing {key!r}")
            return ""
        if not isinstance(value, str):
            self.add(where, f"{key!r} must be a string, got {type(value).__name__}")
            return ""
        if required and not value.strip():
            self.add(where, f"{key!r} must not be empty")
        return value.strip()

    def coded_table(
        self, table: Mapping[str, Any], allowed: set[str], kind: str, unnamed: str
    ) -> tuple[str, str]:
        """Where a table with a code is (``kind 'code'``, or ``unnamed`` while it has no code)
        and its code; unknown keys and a missing code are reported."""
        code = table.get("code")
        where = f"{kind} {code!r}" if isinstance(code, str) and code else unnamed
        self.unknown_keys(where, table, allowed)
        return where, self.text(where, table, "code")

    def non_empty_list(self, where: str, value: Any, message: str) -> list[Any] | None:
        """``value`` if it is a non-empty list, else None with ``message`` reported."""
        if isinstance(value, list) and value:
            return value
        self.add(where, message)
        return None

    def tables(
        self, where: str, items: list[Any], name: str, allowed: set[str], contents: str
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """The items that are tables, each with its place (``where name[i]``, from 1) and its
        keys checked against ``allowed``; an item that is not a table is reported as one that
        "must be a table with ``contents``"."""
        for i, item in enumerate(items, start=1):
            at = f"{where} {name}[{i}]"
            if not isinstance(item, Mapping):
                self.add(at, f"must be a table with {contents}")
                continue
            self.unknown_keys(at, item, allowed)
            yield at, item

    def table_list(self, where: str, table: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = table.get(key)
        if value is None:
            self.add(where, f"missing {key!r}")
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.add(where, f"{key!r} must be a list of tables")
            return []
        return cast(list[Mapping[str, Any]], value)


def _check_unique(errors: _Errors, where: str, kind: str, codes: Iterable[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if not code:
            continue
        if code in seen:
            errors.add(where, f"duplicate {kind} code {code!r}")
        seen.add(code)


def _parse_option(errors: _Errors, where: str, raw: Mapping[str, Any]) -> OptionDef:
    errors.unknown_keys(where, raw, _OPTION_KEYS)
    code = errors.text(where, raw, "code")
    label = errors.text(where, raw, "label")
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES:
        errors.add(
            where,
            f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}",
        )
        outcome = "not_applicable"
    score_raw = raw.get("score")
    score: float | None = None
    if score_raw is not None:
        if isinstance(score_raw, bool) or not isinstance(score_raw, int | float):
            errors.add(where, f"score must be a number, got {score_raw!r}")
        else:
            score = float(score_raw)
    return OptionDef(code=code, label=label, outcome=cast(Outcome, outcome), score=score)


def _parse_scale(errors: _Errors, index: int, raw: Mapping[str, Any]) -> ScaleDef:
    where, code_s = errors.coded_table(raw, _SCALE_KEYS, "scale", f"scales[{index}]")
    name = errors.text(where, raw, "name")
    options = tuple(
        _parse_option(errors, f"{where} option[{i}]", opt)
        for i, opt in enumerate(errors.table_list(where, raw, "options"))
    )
    _check_unique(errors, where, "option", (o.code for o in options))
    outcomes = {o.outcome for o in options}
    if "in_order" not in outcomes:
        errors.add(where, "needs at least one option with outcome 'in_order'")
    if "not_in_order" not in outcomes:
        errors.add(where, "needs at least one option with outcome 'not_in_order'")
    return ScaleDef(code=code_s, name=name, options=options)


def _parse_point(
    errors: _Errors,
    theme_code: str,
    index: int,
    raw: Mapping[str, Any],
    scale_codes: set[str],
) -> ControlPointDef:
    where, code_s = errors.coded_table(
        raw, _POINT_KEYS, "control point", f"theme {theme_code!r} control_points[{index}]"
    )
    question = errors.text(where, raw, "question")
    help_text = errors.text(where, raw, "help", required=False)
    legal = errors.text(where, raw, "legal_reference", required=False) or None
    scale = errors.text(where, raw, "scale")
    if scale and scale not in scale_codes:
        errors.add(where, f"unknown scale {scale!r}")
    schemes_raw = raw.get("schemes", [])
    schemes: tuple[str, ...] = ()
    if not isinstance(schemes_raw, list) or not all(isinstance(s, str) for s in schemes_raw):
        errors.add(where, "'schemes' must be a list of scheme codes")
    else:
        schemes = tuple(schemes_raw)
        for s in schemes:
            if s not in SCHEMES:
                errors.add(where, f"unknown scheme {s!r} (valid: {', '.join(sorted(SCHEMES))})")
        if len(set(schemes)) != len(schemes):
            errors.add(where, "'schemes' lists a scheme more than once")
    return ControlPointDef(
        code=code_s,
        theme_code=theme_code,
        question=question,
        help_text=help_text,
        legal_reference=legal,
        schemes=schemes,
        scale_code=scale,
        data_rule=_parse_rule(errors, where, raw["rule"]) if "rule" in raw else None,
    )


def _parse_rule(errors: _Errors, where: str, raw: Any) -> list[dict[str, Any]] | None:
    """The shape of a data rule: a non-empty list of ``{when = [...], answer = "code"}``."""
    rule_message = "'rule' must be a non-empty list of {when, answer} tables"
    if errors.non_empty_list(where, raw, rule_message) is None:
        return None
    clauses: list[dict[str, Any]] = []
    for at, clause in errors.tables(where, raw, "rule", _RULE_KEYS, "'when' and 'answer'"):
        answer = errors.text(at, clause, "answer")
        when = errors.non_empty_list(
            at, clause.get("when"), "'when' must be a non-empty list of conditions"
        )
        if when is None:
            continue
        conditions = [
            {
                "attribute": errors.text(cat, cond, "attribute"),
                "operator": errors.text(cat, cond, "operator"),
                "value": cond.get("value"),
            }
            for cat, cond in errors.tables(
                at, when, "when", _CONDITION_KEYS, "attribute, operator and value"
            )
        ]
        clauses.append({"when": conditions, "answer": answer})
    return clauses


def _parse_theme(
    errors: _Errors, index: int, raw: Mapping[str, Any], scale_codes: set[str]
) -> ThemeDef:
    where, code_s = errors.coded_table(raw, _THEME_KEYS, "theme", f"themes[{index}]")
    name = errors.text(where, raw, "name")
    description = errors.text(where, raw, "description", required=False)
    core = raw.get("core", False)
    if not isinstance(core, bool):
        errors.add(where, f"'core' must be true or false, got {core!r}")
        core = False
    raw_points = errors.table_list(where, raw, "control_points")
    if "control_points" in raw and not raw_points and isinstance(raw["control_points"], list):
        errors.add(where, "has no control points")
    points = tuple(
        _parse_point(errors, code_s, i, p, scale_codes) for i, p in enumerate(raw_points)
    )
    return ThemeDef(
        code=code_s, name=name, description=description, core=core, control_points=points
    )


def parse_catalogue(data: Mapping[str, Any], source: str = "<catalogue>") -> Catalogue:
    """Build and validate a Catalogue from parsed TOML data.

    Raises ValueError listing every problem found (unique codes, known scales and schemes,
    valid outcomes, at least one in_order and one not_in_order option per scale).
    """
    errors = _Errors()
    errors.unknown_keys(source, data, _TOP_KEYS)
    name = errors.text(source, data, "name", required=False)
    description = errors.text(source, data, "description", required=False)
    scales = tuple(
        _parse_scale(errors, i, s) for i, s in enumerate(errors.table_list(source, data, "scales"))
    )
    _check_unique(errors, source, "scale", (s.code for s in scales))
    scale_codes = {s.code for s in scales if s.code}
    themes = tuple(
        _parse_theme(errors, i, t, scale_codes)
        for i, t in enumerate(errors.table_list(source, data, "themes"))
    )
    _check_unique(errors, source, "theme", (t.code for t in themes))
    _check_unique(
        errors, source, "control point", (cp.code for t in themes for cp in t.control_points)
    )
    options = {s.code: {o.code for o in s.options} for s in scales}
    for theme in themes:
        for cp in theme.control_points:
            for i, clause in enumerate(cp.data_rule or (), start=1):
                if clause["answer"] and clause["answer"] not in options.get(cp.scale_code, set()):
                    errors.add(
                        f"control point {cp.code!r} rule[{i}]",
                        f"answer {clause['answer']!r} is not an option of scale {cp.scale_code!r}",
                    )
    if errors.items:
        raise ValueError(
            f"invalid catalogue {source}:\n" + "\n".join(f"  - {e}" for e in errors.items)
        )
    return Catalogue(name=name, description=description, scales=scales, themes=themes)


def load_starter(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """Load and validate the starter catalogue.

    ``path`` defaults to the ``starter.toml`` shipped in this package; pass another file to
    load (and validate) a different catalogue. Raises ValueError if the file is invalid.
    """
    source, data = load_toml("tilsyn.catalogue", _STARTER_RESOURCE, path, "catalogue")
    return parse_catalogue(data, source)
