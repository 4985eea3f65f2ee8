"""Declarative risk factors and vectorised scoring of cases.

A risk model is a list of :class:`Factor` objects. Each factor is a documented rule
("sygedagpengesag åben i over 26 uger", weight 1.5, because …) that fires for a case when its
condition holds. A case's risk score is the sum of the weights of the factors that fire.
The model is plain data, so it can be stored as JSON, versioned, approved and printed as the
municipality's documented risk assessment.

Scoring is fully vectorised over cases (one numpy array per case attribute). Unknown values are
NaN; a comparison with NaN never fires, only the ``missing`` operator fires on NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from numpy.typing import NDArray

from tilsyn.schemes import SCHEMES, scheme_label
from tilsyn.settings import load_toml

__all__ = [
    "ATTRIBUTES",
    "CATEGORICAL_ATTRIBUTES",
    "OPERATORS",
    "Condition",
    "Factor",
    "RiskModelSpec",
    "ScoreResult",
    "condition_text",
    "factor_from_dict",
    "factor_to_dict",
    "load_default_model",
    "load_model_file",
    "score",
    "validate_factor",
    "validate_factors",
]

#: Case attributes available at scoring time: attribute name -> Danish description with unit
#: (lazy: rendered in the current UI language; ``str()`` them).
ATTRIBUTES: dict[str, LazyString] = {
    "weeks_open": _l("Sagens varighed (uger)"),
    "days_since_conversation": _l("Dage siden seneste samtale (dage; tom = ukendt)"),
    "conversations_12m": _l("Antal samtaler de seneste 12 måneder (antal; tom = ukendt)"),
    "days_to_reassessment": _l(
        "Dage til revurderingsfristen (dage; negativ = overskredet; tom = ingen frist)"
    ),
    "caseworker_changes_12m": _l(
        "Antal sagsbehandlerskift de seneste 12 måneder (antal; tom = ukendt)"
    ),
    "job_goal": _l("Jobmål registreret (1 = ja, 0 = nej; tom = ukendt)"),
    "cv_on_jobnet": _l("Cv tilgængeligt på Jobnet (1 = ja, 0 = nej; tom = ukendt)"),
    "caseworker_tenure_months": _l("Sagsbehandlerens anciennitet (måneder)"),
    "caseworker_caseload": _l("Sagsbehandlerens sagsstamme (antal sager)"),
    "prior_findings": _l(
        "Andel svar »ikke i orden« på sagsbehandlerens sager i seneste afsluttede runde "
        "(andel 0–1; tom = ingen)"
    ),
    "open_followup_actions": _l(
        "Antal åbne opfølgningspunkter på sagsbehandleren (antal; godkendte og annullerede "
        "tæller ikke)"
    ),
    "scheme": _l("Ordning (ordningskode)"),
}

#: Attributes holding scheme codes (strings); all other attributes are numeric (float, NaN).
CATEGORICAL_ATTRIBUTES: frozenset[str] = frozenset({"scheme"})

#: Operators: code -> Danish label (lazy, like :data:`ATTRIBUTES`).
OPERATORS: dict[str, LazyString] = {
    ">=": _l("større end eller lig med"),
    ">": _l("større end"),
    "<=": _l("mindre end eller lig med"),
    "<": _l("mindre end"),
    "==": _l("lig med"),
    "!=": _l("forskellig fra"),
    "missing": _l("mangler (ukendt)"),
    "in": _l("er en af"),
}

_ORDER_OPS = frozenset({">=", ">", "<=", "<"})
_NUMERIC_OPS = _ORDER_OPS | {"==", "!="}
#: String forms of an unknown scheme after conversion to str (empty, None, NaN).
_MISSING_SCHEME = ("", "None", "nan", "NaN")
_CODE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

Value = float | str | tuple[str, ...] | None


@dataclass(frozen=True)
class Condition:
    """A single test on one attribute: ``attribute operator value``."""

    attribute: str
    operator: str
    value: Value = None


@dataclass(frozen=True)
class Factor:
    """A documented risk factor.

    It fires for a case when ``attribute operator value`` holds, every extra condition in
    ``when`` holds (logical AND; e.g. "only for cases open at least 52 weeks"), and the case's
    scheme is in ``schemes`` (empty = all schemes).
    """

    code: str
    label: str
    attribute: str
    operator: str
    value: Value
    weight: float
    rationale: str
    schemes: tuple[str, ...] = ()
    when: tuple[Condition, ...] = ()

    @property
    def condition(self) -> Condition:
        return Condition(self.attribute, self.operator, self.value)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The main condition followed by the extra ``when`` conditions."""
        return (self.condition, *self.when)


@dataclass(frozen=True)
class ScoreResult:
    """Scores of n cases under k factors.

    ``scores[i] = sum_j fired[i, j] * weights[j]``; ``fired`` is an (n, k) bool matrix.
    """

    scores: NDArray[np.float64]
    fired: NDArray[np.bool_]
    factor_codes: tuple[str, ...]
    weights: NDArray[np.float64]

    def fired_codes(self, case_index: int) -> list[str]:
        """Codes of the factors that fired for one case (for "why was this case drawn")."""
        row = self.fired[case_index]
        return [code for code, hit in zip(self.factor_codes, row, strict=True) if hit]


@dataclass(frozen=True)
class RiskModelSpec:
    """A risk model as read from a TOML file: name, description and factors."""

    name: str
    description: str
    factors: tuple[Factor, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# Validation (messages in the UI language, Danish outside a request: they are shown to the
# team leader editing the model)
# --------------------------------------------------------------------------------------------


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _unknown_scheme(code: object) -> str:
    return _("Ukendt ordning »%(code)s«.", code=code)


def _validate_condition(c: Condition, prefix: str = "") -> list[str]:
    errs: list[str] = []
    if c.attribute not in ATTRIBUTES:
        errs.append(prefix + _("Ukendt attribut »%(attribute)s«.", attribute=c.attribute))
    if c.operator not in OPERATORS:
        errs.append(prefix + _("Ukendt operator »%(operator)s«.", operator=c.operator))
    if errs:
        return errs
    categorical = c.attribute in CATEGORICAL_ATTRIBUTES
    op, v = c.operator, c.value
    if op == "missing":
        if v is not None:
            errs.append(prefix + _("Operatoren »missing« tager ingen værdi."))
    elif op == "in":
        if not categorical:
            errs.append(prefix + _("Operatoren »in« kan kun bruges på ordning (scheme)."))
        elif not isinstance(v, tuple | list) or not v or not all(isinstance(s, str) for s in v):
            errs.append(prefix + _("Operatoren »in« kræver en ikke-tom liste af ordningskoder."))
        else:
            errs.extend(prefix + _unknown_scheme(s) for s in v if s not in SCHEMES)
    elif categorical:
        if op in _ORDER_OPS:
            errs.append(
                prefix
                + _(
                    "Ordning kan ikke sammenlignes med »%(operator)s«; brug ==, != eller in.",
                    operator=op,
                )
            )
        elif not isinstance(v, str):
            errs.append(prefix + _("Værdien skal være en ordningskode."))
        elif v not in SCHEMES:
            errs.append(prefix + _unknown_scheme(v))
    elif not _is_number(v):
        errs.append(prefix + _("Værdien skal være et tal."))
    elif not math.isfinite(float(v)):  # type: ignore[arg-type]
        errs.append(prefix + _("Værdien skal være et endeligt tal."))
    return errs


def validate_factor(f: Factor) -> list[str]:
    """Return a list of error messages (UI language); empty if the factor is valid."""
    errs: list[str] = []
    if not isinstance(f.code, str) or not _CODE_RE.match(f.code):
        errs.append(
            _(
                "Koden skal være 1–64 tegn og må kun indeholde bogstaverne a–z, tal, "
                "bindestreg og understregning."
            )
        )
    if not isinstance(f.label, str) or not f.label.strip():
        errs.append(_("Faktoren skal have en betegnelse."))
    if not isinstance(f.rationale, str) or not f.rationale.strip():
        errs.append(_("Begrundelsen skal udfyldes (risikovurderingen skal være dokumenteret)."))
    if not _is_number(f.weight):
        errs.append(_("Vægten skal være et tal."))
    elif not math.isfinite(float(f.weight)) or not 0 <= float(f.weight) <= MAX_WEIGHT:
        errs.append(_("Vægten skal være et tal mellem 0 og %(max)d.", max=MAX_WEIGHT))
    errs.extend(_validate_condition(f.condition))
    for i, c in enumerate(f.when, start=1):
        errs.extend(_validate_condition(c, prefix=_("Ekstra betingelse %(num)d: ", num=i)))
    if not isinstance(f.schemes, tuple | list) or not all(isinstance(s, str) for s in f.schemes):
        errs.append(_("Ordninger skal være en liste af ordningskoder."))
    else:
        errs.extend(_unknown_scheme(s) for s in f.schemes if s not in SCHEMES)
        if len(set(f.schemes)) != len(f.schemes):
            errs.append(_("Samme ordning er angivet flere gange."))
    return errs


def validate_factors(factors: Sequence[Factor]) -> list[str]:
    """Validate a whole model: every factor, plus unique codes. Messages name the factor."""
    errs: list[str] = []
    seen: set[str] = set()
    for f in factors:
        errs.extend(f"{f.code}: {e}" for e in validate_factor(f))
        if f.code in seen:
            errs.append(f"{f.code}: " + _("Koden er brugt af flere faktorer."))
        seen.add(f.code)
    return errs


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _case_count(attributes: Mapping[str, Any]) -> int:
    lengths = {name: np.shape(values) for name, values in attributes.items()}
    for name, shape in lengths.items():
        if len(shape) != 1:
            raise ValueError(f"attribute {name!r} must be a 1-d array, got shape {shape}")
    sizes = {shape[0] for shape in lengths.values()}
    if len(sizes) > 1:
        detail = ", ".join(f"{k}={v[0]}" for k, v in sorted(lengths.items()))
        raise ValueError(f"attribute arrays differ in length: {detail}")
    return sizes.pop() if sizes else 0


def _evaluate(
    c: Condition,
    attributes: Mapping[str, Any],
    cache: dict[str, NDArray[Any]],
) -> NDArray[np.bool_]:
    if c.attribute not in attributes:
        raise KeyError(f"case attribute {c.attribute!r} is missing from the scoring input")
    if c.attribute in CATEGORICAL_ATTRIBUTES:
        if c.attribute not in cache:
            cache[c.attribute] = np.asarray(attributes[c.attribute], dtype=object).astype(str)
        s = cache[c.attribute]
        if c.operator == "missing":
            return np.isin(s, _MISSING_SCHEME)
        if c.operator == "in":
            assert isinstance(c.value, tuple | list)
            return np.isin(s, list(c.value))
        if c.operator == "==":
            return np.asarray(s == c.value, dtype=np.bool_)
        if c.operator == "!=":
            # An unknown scheme is not "different from X": it is unknown, so it never fires.
            present = ~np.isin(s, _MISSING_SCHEME)
            return np.asarray((s != c.value) & present, dtype=np.bool_)
        raise ValueError(f"operator {c.operator!r} is not valid for {c.attribute!r}")

    if c.attribute not in cache:
        cache[c.attribute] = np.asarray(attributes[c.attribute], dtype=np.float64)
    x = cache[c.attribute]
    known: NDArray[np.bool_] = np.asarray(~np.isnan(x), dtype=np.bool_)
    if c.operator == "missing":
        return np.logical_not(known)
    assert _is_number(c.value)
    v = float(c.value)  # type: ignore[arg-type]
    out = np.zeros(x.shape, dtype=np.bool_)
    ufunc = {
        ">=": np.greater_equal,
        ">": np.greater,
        "<=": np.less_equal,
        "<": np.less,
        "==": np.equal,
        "!=": np.not_equal,
    }[c.operator]
    # ``where=known`` leaves NaN rows False (so "!=" never fires on NaN) and avoids warnings.
    ufunc(x, v, out=out, where=known)
    return out


#: The largest factor weight (as answer-scale scores are bounded); a risk score is at most
#: this times the number of factors.
MAX_WEIGHT = 1000


def _bounded(f: Factor) -> Factor:
    """A factor stored before weights were bounded scores with the bound (e.g. 1e308 counts
    as :data:`MAX_WEIGHT`), so pages and draws never overflow; new versions are refused."""
    if _is_number(f.weight) and math.isfinite(float(f.weight)) and f.weight > MAX_WEIGHT:
        return replace(f, weight=float(MAX_WEIGHT))
    return f


def score(factors: Sequence[Factor], attributes: Mapping[str, Any]) -> ScoreResult:
    """Score every case under ``factors``.

    ``attributes`` maps attribute names (see :data:`ATTRIBUTES`) to 1-d arrays with one entry
    per case; numeric arrays use NaN for unknown, ``scheme`` holds scheme codes. Every
    attribute a factor uses must be present (pass an all-NaN array if the data is unknown),
    and ``scheme`` must be present if any factor is restricted to schemes.

    Raises ValueError for an invalid model or mismatched array lengths, KeyError for a
    missing attribute.
    """
    factors = [_bounded(f) for f in factors]
    problems = validate_factors(factors)
    if problems:
        raise ValueError("invalid risk model:\n" + "\n".join(f"  - {p}" for p in problems))
    n = _case_count(attributes)
    k = len(factors)
    fired = np.zeros((n, k), dtype=np.bool_)
    cache: dict[str, NDArray[Any]] = {}
    for j, f in enumerate(factors):
        hit = np.ones(n, dtype=np.bool_)
        for c in f.conditions:
            hit &= _evaluate(c, attributes, cache)
        if f.schemes:
            hit &= _evaluate(Condition("scheme", "in", tuple(f.schemes)), attributes, cache)
        fired[:, j] = hit
    weights = np.array([float(f.weight) for f in factors], dtype=np.float64)
    scores = fired.astype(np.float64) @ weights if k else np.zeros(n, dtype=np.float64)
    return ScoreResult(
        scores=np.asarray(scores, dtype=np.float64),
        fired=fired,
        factor_codes=tuple(f.code for f in factors),
        weights=weights,
    )


# --------------------------------------------------------------------------------------------
# Text, serialisation and loading
# --------------------------------------------------------------------------------------------


def condition_text(c: Condition) -> str:
    """A short rendering of a condition in the current UI language (Danish outside a request),
    e.g. ``Sagens varighed (uger) > 26``."""
    name = str(ATTRIBUTES.get(c.attribute, c.attribute))
    if c.operator == "missing":
        return _("%(attribute)s: mangler", attribute=name)
    if c.operator == "in" and isinstance(c.value, tuple | list):
        return _(
            "%(attribute)s er en af: %(schemes)s",
            attribute=name,
            schemes=", ".join(scheme_label(s) for s in c.value),
        )
    value = c.value
    if _is_number(value) and float(value).is_integer():  # type: ignore[arg-type]
        value = int(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        value = scheme_label(value)
    return f"{name} {c.operator} {value}"


def _value_to_json(v: Value) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v


def _value_from_json(v: Any) -> Value:
    if isinstance(v, list):
        return tuple(v)
    if _is_number(v):
        return float(v)
    if v is None or isinstance(v, str):
        return v
    # Keep the value as-is so that validate_factor can report it in Danish.
    return v  # type: ignore[no-any-return]


def _condition_to_dict(c: Condition) -> dict[str, Any]:
    return {"attribute": c.attribute, "operator": c.operator, "value": _value_to_json(c.value)}


def _condition_from_dict(d: Mapping[str, Any]) -> Condition:
    try:
        return Condition(
            attribute=d["attribute"],
            operator=d["operator"],
            value=_value_from_json(d.get("value")),
        )
    except KeyError as exc:
        raise ValueError(f"condition is missing key {exc.args[0]!r}") from exc


def factor_to_dict(f: Factor) -> dict[str, Any]:
    """A JSON-serialisable dict of the factor (inverse of :func:`factor_from_dict`)."""
    return {
        "code": f.code,
        "label": f.label,
        "attribute": f.attribute,
        "operator": f.operator,
        "value": _value_to_json(f.value),
        "schemes": list(f.schemes),
        "weight": float(f.weight),
        "rationale": f.rationale,
        "when": [_condition_to_dict(c) for c in f.when],
    }


_FACTOR_KEYS = {
    "code",
    "label",
    "attribute",
    "operator",
    "value",
    "schemes",
    "weight",
    "rationale",
    "when",
}


def factor_from_dict(d: Mapping[str, Any]) -> Factor:
    """Build a Factor from a dict (JSON or TOML). Does not validate; see validate_factor.

    ``value`` may be omitted for ``missing``; ``schemes`` and ``when`` may be omitted.
    Raises ValueError for missing required keys or unknown keys.
    """
    unknown = sorted(set(d) - _FACTOR_KEYS)
    if unknown:
        raise ValueError(f"factor {d.get('code')!r} has unknown key(s): {', '.join(unknown)}")
    missing = [k for k in ("code", "label", "attribute", "operator", "weight") if k not in d]
    if missing:
        raise ValueError(f"factor {d.get('code')!r} is missing key(s): {', '.join(missing)}")
    weight = d["weight"]
    schemes = d.get("schemes") or []
    when = d.get("when") or []
    if not isinstance(when, list):
        raise ValueError(f"factor {d['code']!r}: 'when' must be a list of conditions")
    return Factor(
        code=d["code"],
        label=d["label"],
        attribute=d["attribute"],
        operator=d["operator"],
        value=_value_from_json(d.get("value")),
        weight=float(weight) if _is_number(weight) else weight,
        rationale=d.get("rationale", ""),
        schemes=tuple(schemes) if isinstance(schemes, list | tuple) else schemes,
        when=tuple(_condition_from_dict(c) for c in when),
    )


def _parse_model(data: Mapping[str, Any], source: str) -> RiskModelSpec:
    name = data.get("name")
    description = data.get("description", "")
    raw_factors = data.get("factors")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"risk model {source}: missing 'name'")
    if not isinstance(raw_factors, list) or not raw_factors:
        raise ValueError(f"risk model {source}: needs at least one [[factors]] table")
    factors = tuple(factor_from_dict(d) for d in raw_factors)
    problems = validate_factors(factors)
    if problems:
        raise ValueError(
            f"invalid risk model {source}:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return RiskModelSpec(name=name.strip(), description=str(description).strip(), factors=factors)


def load_model_file(path: str | Path | None = None) -> RiskModelSpec:
    """Load and validate a risk model TOML file (default: the packaged default model)."""
    source, data = load_toml("tilsyn.risk", "default_model.toml", path, "risk model")
    return _parse_model(data, source)


def load_default_model() -> tuple[str, list[Factor]]:
    """Return ``(name, factors)`` of the packaged default model (validated).

    Use :func:`load_model_file` to get the description as well.
    """
    spec = load_model_file()
    return spec.name, list(spec.factors)
