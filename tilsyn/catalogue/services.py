"""Catalogue services: seed from the starter file, browse, and version control points."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import (
    IN_ORDER,
    NOT_APPLICABLE,
    NOT_IN_ORDER,
    OUTCOME_LABELS,
    ControlPoint,
    Scale,
    ScaleOption,
    Theme,
)
from tilsyn.catalogue.starter import Catalogue, load_starter
from tilsyn.errors import ServiceError
from tilsyn.schemes import SCHEMES

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,59}$")
#: Codes of scales and of their answer options (stored lower case).
SCALE_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_OPTIONS = 20


class CatalogueError(ServiceError):
    """A user-facing refusal (in the UI language; Danish outside a request)."""


@dataclass(frozen=True)
class LoadReport:
    scales: int
    themes: int
    control_points: int

    @property
    def nothing_new(self) -> bool:
        return not (self.scales or self.themes or self.control_points)


def load_starter_catalogue(
    session: Session, actor: User | None, catalogue: Catalogue | None = None
) -> LoadReport:
    """Add the starter catalogue's scales, themes and control points that are not there yet.

    Idempotent: existing codes are left exactly as they are (a municipality's edits win), so
    running it again adds nothing.
    """
    cat = catalogue if catalogue is not None else load_starter()
    scales = {s.code: s for s in session.scalars(select(Scale))}
    themes = {t.code: t for t in session.scalars(select(Theme))}
    point_codes = set(session.scalars(select(ControlPoint.code).distinct()))
    n_scales = n_themes = n_points = 0
    for sdef in cat.scales:
        if sdef.code in scales:
            continue
        scale = Scale(code=sdef.code, name=sdef.name)
        scale.options = [
            ScaleOption(position=i, code=o.code, label=o.label, outcome=o.outcome, score=o.score)
            for i, o in enumerate(sdef.options)
        ]
        session.add(scale)
        scales[sdef.code] = scale
        n_scales += 1
    next_position = (session.scalar(select(func.max(Theme.position))) or 0) + 1
    for tdef in cat.themes:
        theme = themes.get(tdef.code)
        if theme is None:
            theme = Theme(
                code=tdef.code,
                name=tdef.name,
                description=tdef.description,
                is_core=tdef.core,
                position=next_position,
            )
            next_position += 1
            session.add(theme)
            themes[tdef.code] = theme
            n_themes += 1
        for cdef in tdef.control_points:
            if cdef.code in point_codes:
                continue
            session.add(
                ControlPoint(
                    code=cdef.code,
                    version=1,
                    question=cdef.question,
                    help_text=cdef.help_text,
                    legal_reference=cdef.legal_reference,
                    schemes=list(cdef.schemes),
                    data_rule=cdef.data_rule,
                    scale=scales[cdef.scale_code],
                    theme=theme,
                    active=True,
                    change_note="Indlæst fra startkataloget",
                    created_by_name=actor.username if actor else "system",
                )
            )
            point_codes.add(cdef.code)
            n_points += 1
    session.flush()
    report = LoadReport(n_scales, n_themes, n_points)
    if not report.nothing_new:
        audit.record(
            session,
            actor,
            "load",
            "catalogue",
            None,
            f"Startkatalog indlæst: {n_themes} temaer, {n_points} kontrolpunkter",
            {"scales": n_scales, "themes": n_themes, "control_points": n_points},
        )
    return report


def list_themes(session: Session) -> list[Theme]:
    """All themes in catalogue order, with their control points loaded."""
    return list(
        session.scalars(
            select(Theme)
            .options(selectinload(Theme.control_points).selectinload(ControlPoint.scale))
            .order_by(Theme.position, Theme.name)
        )
    )


def list_scales(session: Session) -> list[Scale]:
    return list(
        session.scalars(select(Scale).options(selectinload(Scale.options)).order_by(Scale.name))
    )


def theme_by_code(session: Session, code: str) -> Theme | None:
    return session.scalar(select(Theme).where(Theme.code == code))


def versions(session: Session, code: str) -> list[ControlPoint]:
    """Every version of the control point ``code``, newest first."""
    return list(
        session.scalars(
            select(ControlPoint)
            .where(ControlPoint.code == code)
            .order_by(ControlPoint.version.desc())
        )
    )


def latest_version(session: Session, code: str) -> ControlPoint | None:
    return session.scalar(
        select(ControlPoint)
        .where(ControlPoint.code == code)
        .order_by(ControlPoint.version.desc())
        .limit(1)
    )


def comparable_lineage(point: ControlPoint) -> list[ControlPoint]:
    """``point`` and the earlier versions its results may be compared with, newest first."""
    chain = [point]
    current = point
    while current.comparable_to is not None and current.comparable_to not in chain:
        current = current.comparable_to
        chain.append(current)
    return chain


def current_points(
    session: Session, theme_ids: Iterable[int] | None = None, schemes: Sequence[str] = ()
) -> list[ControlPoint]:
    """Active control points (optionally of some themes), filtered to ``schemes`` if given.

    A point limited to schemes is kept when it shares at least one scheme with ``schemes``;
    points for every scheme are always kept.
    """
    stmt = select(ControlPoint).where(ControlPoint.active.is_(True))
    if theme_ids is not None:
        stmt = stmt.where(ControlPoint.theme_id.in_(list(theme_ids)))
    points = session.scalars(stmt.order_by(ControlPoint.theme_id, ControlPoint.code)).all()
    wanted = set(schemes)
    return [p for p in points if not wanted or not p.schemes or wanted & set(p.schemes)]


def _clean_schemes(schemes: Iterable[str]) -> list[str]:
    out = []
    for s in schemes:
        if s not in SCHEMES:
            raise CatalogueError(_("Ukendt ordning: «%(scheme)s».", scheme=s))
        if s not in out:
            out.append(s)
    return sorted(out)


def save_control_point(
    session: Session,
    actor: User | None,
    *,
    point: ControlPoint | None,
    code: str,
    theme: Theme,
    scale: Scale,
    question: str,
    help_text: str = "",
    legal_reference: str | None = None,
    schemes: Iterable[str] = (),
    active: bool = True,
    comparable: bool = False,
    change_note: str = "",
) -> ControlPoint:
    """Create a control point, or save a change to one as a new version.

    A change of content (question, help, legal reference, schemes, scale, theme) always adds a
    version; ``comparable`` records whether results of the new version may be compared with the
    previous one. Changing only ``active`` (retiring or reinstating) is recorded on the current
    version. Returns the (new) current version.
    """
    question = question.strip()
    if not question:
        raise CatalogueError(_("Kontrolpunktet skal have et spørgsmål."))
    help_text = help_text.strip()
    legal = (legal_reference or "").strip() or None
    clean_schemes = _clean_schemes(schemes)
    actor_name = actor.username if actor else "system"

    if point is None:
        code = code.strip().upper()
        if not CODE_PATTERN.match(code):
            raise CatalogueError(
                _(
                    "Koden skal bestå af bogstaverne A–Z, tal, punktum, bindestreg eller "
                    "understreg (højst 60 tegn), fx JOBMAAL-04."
                )
            )
        if latest_version(session, code) is not None:
            raise CatalogueError(
                _("Koden «%(code)s» er allerede brugt; koder genbruges aldrig.", code=code)
            )
        new = ControlPoint(
            code=code,
            version=1,
            question=question,
            help_text=help_text,
            legal_reference=legal,
            schemes=clean_schemes,
            scale=scale,
            theme=theme,
            active=active,
            change_note=change_note.strip() or "Oprettet",
            created_by_name=actor_name,
        )
        session.add(new)
        session.flush()
        audit.record(
            session, actor, "create", "control_point", new.id, f"Kontrolpunkt {code} v1 oprettet"
        )
        return new

    latest = latest_version(session, point.code)
    if latest is not point:
        raise CatalogueError(_("Kun den nyeste version af et kontrolpunkt kan ændres."))
    content_changed = (
        question != point.question
        or help_text != (point.help_text or "")
        or legal != point.legal_reference
        or clean_schemes != sorted(point.schemes or [])
        or scale.id != point.scale_id
        or theme.id != point.theme_id
    )
    if not content_changed:
        if active != point.active:
            point.active = active
            session.flush()
            audit.record(
                session,
                actor,
                "update",
                "control_point",
                point.id,
                f"Kontrolpunkt {point.code} v{point.version} "
                + ("genindsat" if active else "taget ud af brug"),
            )
        return point
    note = change_note.strip()
    if not note:
        raise CatalogueError(_("Beskriv ændringen; den gemmes som en ny version."))
    if comparable and scale.id != point.scale_id:
        raise CatalogueError(
            _(
                "En ny svarskala ændrer spørgsmålets betydning, så den nye version kan ikke "
                "markeres som sammenlignelig med den forrige. Fjern markeringen "
                "«Sammenlignelig»; versionen begynder så en ny tidsserie."
            )
        )
    new = ControlPoint(
        code=point.code,
        version=point.version + 1,
        question=question,
        help_text=help_text,
        legal_reference=legal,
        schemes=clean_schemes,
        scale=scale,
        theme=theme,
        active=active,
        comparable_to=point if comparable else None,
        change_note=note,
        created_by_name=actor_name,
    )
    point.active = False
    session.add(new)
    session.flush()
    audit.record(
        session,
        actor,
        "version",
        "control_point",
        new.id,
        f"Kontrolpunkt {point.code} v{new.version} "
        + (f"(sammenlignelig med v{point.version})" if comparable else "(brud i tidsserien)"),
        {"previous_id": point.id, "comparable": comparable, "note": note},
    )
    return new


def save_theme(
    session: Session,
    actor: User | None,
    *,
    theme: Theme | None,
    code: str,
    name: str,
    description: str = "",
    is_core: bool = False,
) -> Theme:
    """Create a theme or change its name, description and core suggestion (code is fixed)."""
    name = " ".join(name.split())
    if not name:
        raise CatalogueError(_("Temaet skal have et navn."))
    created = theme is None
    if theme is None:
        code = code.strip().upper()
        if not CODE_PATTERN.match(code):
            raise CatalogueError(
                _("Koden skal bestå af bogstaverne A–Z, tal, punktum, bindestreg eller understreg.")
            )
        if theme_by_code(session, code) is not None:
            raise CatalogueError(_("Temakoden «%(code)s» er allerede brugt.", code=code))
        position = (session.scalar(select(func.max(Theme.position))) or 0) + 1
        theme = Theme(code=code, position=position)
        session.add(theme)
    theme.name = name
    theme.description = description.strip()
    theme.is_core = is_core
    session.flush()
    audit.record(
        session, actor, "create" if created else "update", "theme", theme.id, f"Tema {theme.code}"
    )
    return theme


# --------------------------------------------------------------------------------------------
# Answer scales
# --------------------------------------------------------------------------------------------


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
        if raw.outcome == NOT_APPLICABLE and score is not None:
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
    if IN_ORDER not in outcomes or NOT_IN_ORDER not in outcomes:
        raise CatalogueError(
            _(
                "En svarskala skal have mindst én svarmulighed, der tæller som «I orden», og "
                "mindst én, der tæller som «Ikke i orden»."
            )
        )
    if any(o.score is not None for o in cleaned):
        for i, o in enumerate(cleaned, start=1):
            if o.outcome != NOT_APPLICABLE and o.score is None:
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
        code = code.strip().lower()
        if not SCALE_CODE_PATTERN.match(code):
            raise CatalogueError(
                _(
                    "Skalaens kode skal bestå af små bogstaver a–z, tal, punktum, bindestreg "
                    "eller understreg (højst 40 tegn), fx «ja_nej_delvist»."
                )
            )
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
    session.flush()
    audit.record(
        session,
        actor,
        "create" if created else "update",
        "scale",
        scale.id,
        f"Svarskala {scale.code} ({scale.name}) " + ("oprettet" if created else "ændret"),
        {"before": before or None, "options": _option_dicts(cleaned)},
    )
    return scale
