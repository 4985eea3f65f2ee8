"""Answer scales: their options, usage, and saving a scale (a new version when in use)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import OUTCOME_LABELS, ControlPoint, Outcome, Scale, ScaleOption
from tilsyn.catalogue.points import (
    MAX_OPTIONS,
    SCALE_CODE_PATTERN,
    SCALE_CODE_RULE,
    CatalogueError,
    checked_code,
)


@dataclass(frozen=True)
class OptionInput:
    """One answer option as submitted: ``score`` is the text typed ("2", "2,5", "") or a
    number."""

    code: str
    label: str
    outcome: str
    score: str | float | None = None

    @property
    def blank(self) -> bool:
        return not (self.code.strip() or self.label.strip() or str(self.score or "").strip())


def scale_usage(session: Session, scale: Scale) -> int:
    """How many control point versions use ``scale``."""
    return int(
        session.scalar(select(func.count(ControlPoint.id)).where(ControlPoint.scale_id == scale.id))
        or 0
    )


def scale_usages(session: Session) -> dict[int, int]:
    """Scale id -> number of control point versions using it."""
    rows = session.execute(
        select(ControlPoint.scale_id, func.count(ControlPoint.id)).group_by(ControlPoint.scale_id)
    ).all()
    return {int(scale_id): int(n) for scale_id, n in rows}


def _parse_score(raw: str | float | None, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text_value = raw.strip().replace(" ", "")
        if not text_value:
            return None
        try:
            value = float(text_value.replace(",", "."))
        except ValueError:
            raise CatalogueError(
                _("%(where)s: point skal være et tal, fx 2 eller 2,5.", where=where)
            ) from None
    if not math.isfinite(value) or abs(value) > 1000:
        raise CatalogueError(
            _("%(where)s: point skal være et tal mellem -1000 og 1000.", where=where)
        )
    return value


@dataclass(frozen=True)
class _CleanOption:
    code: str
    label: str
    outcome: str
    score: float | None


def _clean_options(options: Sequence[OptionInput]) -> list[_CleanOption]:
    """Validate the submitted options (blank rows are skipped); a message on the first
    problem, naming the option by its number."""
    cleaned: list[_CleanOption] = []
    codes: set[str] = set()
    labels: set[str] = set()
    number = 0
    for raw in options:
        if raw.blank:
            continue
        number += 1
        label = " ".join(raw.label.split())
        where = (
            _("Svarmulighed %(num)d («%(label)s»)", num=number, label=label)
            if label
            else _("Svarmulighed %(num)d", num=number)
        )
        code = raw.code.strip().lower()
        if not SCALE_CODE_PATTERN.match(code):
            raise CatalogueError(
                _(
                    "%(where)s: koden skal bestå af små bogstaver a–z, tal, punktum, bindestreg "
                    "eller understreg (højst 40 tegn), fx «ja» eller «delvist».",
                    where=where,
                )
            )
        if code in codes:
            raise CatalogueError(
                _(
                    "%(where)s: koden «%(code)s» er brugt af en anden svarmulighed.",
                    where=where,
                    code=code,
                )
            )
        if not label or len(label) > 200:
            raise CatalogueError(
                _("%(where)s: skriv svarmuligheden (højst 200 tegn).", where=where)
            )
        if label.lower() in labels:
            raise CatalogueError(_("%(where)s: teksten findes allerede i skalaen.", where=where))
        if raw.outcome not in OUTCOME_LABELS:
            raise CatalogueError(
                _(
                    "%(where)s: vælg udfaldet (i orden, ikke i orden eller ikke relevant).",
                    where=where,
                )
            )
        score = _parse_score(raw.score, where)
        if raw.outcome == Outcome.NOT_APPLICABLE and score is not None:
            raise CatalogueError(
                _(
                    "%(where)s: «Ikke relevant» tæller ikke med og kan derfor ikke have point.",
                    where=where,
                )
            )
        codes.add(code)
        labels.add(label.lower())
        cleaned.append(_CleanOption(code, label, raw.outcome, score))
    if len(cleaned) < 2:
        raise CatalogueError(_("En svarskala skal have mindst to svarmuligheder."))
    if len(cleaned) > MAX_OPTIONS:
        raise CatalogueError(
            _("En svarskala kan højst have %(max)d svarmuligheder.", max=MAX_OPTIONS)
        )
    outcomes = {o.outcome for o in cleaned}
    if Outcome.IN_ORDER not in outcomes or Outcome.NOT_IN_ORDER not in outcomes:
        raise CatalogueError(
            _(
                "En svarskala skal have mindst én svarmulighed, der tæller som «I orden», og "
                "mindst én, der tæller som «Ikke i orden»."
            )
        )
    if any(o.score is not None for o in cleaned):
        for i, o in enumerate(cleaned, start=1):
            if o.outcome != Outcome.NOT_APPLICABLE and o.score is None:
                raise CatalogueError(
                    _(
                        "Svarmulighed %(num)d («%(label)s»): skalaen giver point (fx 1–3), så "
                        "alle svarmuligheder undtagen «Ikke relevant» skal have et point.",
                        num=i,
                        label=o.label,
                    )
                )
    return cleaned


def _option_dicts(options: Iterable[ScaleOption | _CleanOption]) -> list[dict[str, object]]:
    return [
        {"code": o.code, "label": o.label, "outcome": o.outcome, "score": o.score} for o in options
    ]


def save_scale(
    session: Session,
    actor: User | None,
    *,
    scale: Scale | None,
    code: str,
    name: str,
    options: Sequence[OptionInput],
) -> Scale:
    """Create an answer scale, or change one; nothing is stored on refusal.

    Every option has a code, a label, an outcome (in order / not in order / not applicable)
    and optionally a score. A scale needs at least one in-order and one not-in-order option; if
    any option has a score, every option but the not-applicable ones must have one (a scored
    scale such as 1–3). The code is fixed once created.

    A scale used by control points keeps its meaning: its options' codes, outcomes and scores
    (and their number and order) cannot change, since answers already given would silently
    change meaning; only the scale's name and the options' wording may be edited. For another
    meaning create a new scale (e.g. a copy) and move the control points to it as new versions.
    """
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise CatalogueError(_("Skalaen skal have et navn (højst 200 tegn)."))
    cleaned = _clean_options(options)
    created = scale is None
    if scale is None:
        code = checked_code(code.strip().lower(), SCALE_CODE_PATTERN, SCALE_CODE_RULE)
        if session.scalar(select(Scale).where(Scale.code == code)) is not None:
            raise CatalogueError(_("Skalakoden «%(code)s» er allerede brugt.", code=code))
        scale = Scale(code=code, name=name)
        session.add(scale)
        before: list[dict[str, object]] = []
    else:
        before = _option_dicts(scale.options)
        used = scale_usage(session, scale)
        if used:
            meaning_before = [(o.code, o.outcome, o.score) for o in scale.options]
            meaning_after = [(o.code, o.outcome, o.score) for o in cleaned]
            if meaning_before != meaning_after:
                raise CatalogueError(
                    ngettext(
                        "Skalaen bruges af %(num)d kontrolpunktversion. Dens svarmuligheder, "
                        "udfald og point kan derfor ikke ændres – svar, der allerede er givet, "
                        "ville skifte betydning. Kun navn og ordlyd kan rettes. Opret en ny "
                        "skala (fx som kopi), og flyt kontrolpunkterne til den som en ny version.",
                        "Skalaen bruges af %(num)d kontrolpunktversioner. Dens svarmuligheder, "
                        "udfald og point kan derfor ikke ændres – svar, der allerede er givet, "
                        "ville skifte betydning. Kun navn og ordlyd kan rettes. Opret en ny "
                        "skala (fx som kopi), og flyt kontrolpunkterne til den som en ny version.",
                        used,
                    )
                )
    scale.name = name
    existing = {o.code: o for o in scale.options}
    scale.options = [
        existing.get(o.code) or ScaleOption(code=o.code, label=o.label, outcome=o.outcome)
        for o in cleaned
    ]
    for position, (option, clean) in enumerate(zip(scale.options, cleaned, strict=True)):
        option.position = position
        option.label = clean.label
        option.outcome = clean.outcome
        option.score = clean.score
    summary = f"Svarskala {scale.code} ({scale.name}) " + ("oprettet" if created else "ændret")
    details = {"before": before or None, "options": _option_dicts(cleaned)}
    audit.record_save(session, actor, created, "scale", scale, summary, details)
    return scale
