"""Themes and control points: seed from the starter file, browse, and version control points."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.catalogue.models import (
    ControlPoint,
    Scale,
    ScaleOption,
    Theme,
)
from tilsyn.catalogue.starter import Catalogue, load_starter
from tilsyn.errors import ServiceError
from tilsyn.schemes import SCHEMES

#: Codes of control points and themes (stored upper case).
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,59}$")
#: Codes of scales and of their answer options (stored lower case).
SCALE_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_OPTIONS = 20

#: What a new control point's, a new theme's and a new scale's code must look like.
POINT_CODE_RULE = _l(
    "Koden skal bestå af bogstaverne A–Z, tal, punktum, bindestreg eller "
    "understreg (højst 60 tegn), fx JOBMAAL-04."
)
THEME_CODE_RULE = _l(
    "Koden skal bestå af bogstaverne A–Z, tal, punktum, bindestreg eller understreg."
)
SCALE_CODE_RULE = _l(
    "Skalaens kode skal bestå af små bogstaver a–z, tal, punktum, bindestreg "
    "eller understreg (højst 40 tegn), fx «ja_nej_delvist»."
)


class CatalogueError(ServiceError):
    """A user-facing refusal (in the UI language; Danish outside a request)."""


def checked_code(code: str, pattern: re.Pattern[str], rule: LazyString) -> str:
    """``code`` if it matches ``pattern``; else CatalogueError saying the ``rule``."""
    if not pattern.match(code):
        raise CatalogueError(str(rule))
    return code


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
    # What a new version holds (the code, version number and change note come on top).
    content: dict[str, Any] = {
        "question": question,
        "help_text": help_text,
        "legal_reference": legal,
        "schemes": clean_schemes,
        "scale": scale,
        "theme": theme,
        "active": active,
        "created_by_name": audit.actor_name(actor),
    }

    if point is None:
        code = checked_code(code.strip().upper(), CODE_PATTERN, POINT_CODE_RULE)
        if latest_version(session, code) is not None:
            raise CatalogueError(
                _("Koden «%(code)s» er allerede brugt; koder genbruges aldrig.", code=code)
            )
        new = ControlPoint(
            code=code, version=1, change_note=change_note.strip() or "Oprettet", **content
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
        comparable_to=point if comparable else None,
        # The data rule answers with the scale's option codes: it follows the point to a new
        # version on the same scale and is dropped with a change of scale.
        data_rule=point.data_rule if scale.id == point.scale_id else None,
        change_note=note,
        **content,
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
        code = checked_code(code.strip().upper(), CODE_PATTERN, THEME_CODE_RULE)
        if theme_by_code(session, code) is not None:
            raise CatalogueError(_("Temakoden «%(code)s» er allerede brugt.", code=code))
        position = (session.scalar(select(func.max(Theme.position))) or 0) + 1
        theme = Theme(code=code, position=position)
        session.add(theme)
    theme.name = name
    theme.description = description.strip()
    theme.is_core = is_core
    audit.record_save(session, actor, created, "theme", theme, f"Tema {theme.code}")
    return theme
