"""Catalogue in the database: idempotent starter load and versioned control points."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tilsyn.audit.models import AuditEvent
from tilsyn.catalogue import services
from tilsyn.catalogue.models import ControlPoint, Scale, ScaleOption, Theme
from tilsyn.catalogue.starter import load_starter


def test_starter_load_is_complete_and_idempotent(session, org):
    starter = load_starter()
    report = services.load_starter_catalogue(session, org.users["admin"])
    session.commit()
    assert report.themes == len(starter.themes) >= 8
    assert report.control_points == len(starter.control_points) >= 25
    assert report.scales == len(starter.scales)
    again = services.load_starter_catalogue(session, None)
    session.commit()
    assert again.nothing_new
    assert session.scalar(select(func.count(ControlPoint.id))) == len(starter.control_points)
    assert session.scalar(select(func.count(Theme.id))) == len(starter.themes)
    # Options keep their order and outcomes.
    yn = session.scalar(select(Scale).where(Scale.code == "ja_nej_ir"))
    assert [(o.code, o.outcome) for o in yn.options] == [
        ("ja", "in_order"),
        ("nej", "not_in_order"),
        ("ir", "not_applicable"),
    ]
    core = {t.code for t in session.scalars(select(Theme).where(Theme.is_core.is_(True)))}
    assert core == {t.code for t in starter.core_themes}
    assert (
        session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.object_type == "catalogue")
        )
        == 1
    )


def _point(session, code=None):
    stmt = select(ControlPoint).where(ControlPoint.active.is_(True)).order_by(ControlPoint.code)
    if code:
        stmt = stmt.where(ControlPoint.code == code)
    return session.scalars(stmt).first()


def test_edit_creates_new_version_and_keeps_the_old(session, org):
    services.load_starter_catalogue(session, None)
    point = _point(session)
    old_question = point.question
    new = services.save_control_point(
        session,
        org.users["leder"],
        point=point,
        code="ignored",
        theme=point.theme,
        scale=point.scale,
        question=old_question + " (præciseret)",
        help_text=point.help_text,
        legal_reference=point.legal_reference,
        schemes=point.schemes,
        comparable=True,
        change_note="Præcisering",
    )
    session.commit()
    assert new.id != point.id and new.code == point.code and new.version == 2
    assert new.active and not point.active and point.question == old_question
    assert new.comparable_to_id == point.id
    assert [v.version for v in services.versions(session, point.code)] == [2, 1]
    assert services.comparable_lineage(new) == [new, point]
    # A break in the series: not comparable.
    newer = services.save_control_point(
        session,
        None,
        point=new,
        code="",
        theme=new.theme,
        scale=new.scale,
        question="Helt nyt spørgsmål",
        comparable=False,
        change_note="Nyt indhold",
    )
    assert newer.version == 3 and newer.comparable_to_id is None
    assert services.comparable_lineage(newer) == [newer]
    # Only the newest version can be changed.
    with pytest.raises(services.CatalogueError):
        services.save_control_point(
            session,
            None,
            point=point,
            code="",
            theme=point.theme,
            scale=point.scale,
            question="x",
            change_note="y",
        )


def test_unchanged_content_only_toggles_active_and_requires_note_for_change(session, org):
    services.load_starter_catalogue(session, None)
    point = _point(session)
    kwargs = dict(
        point=point,
        code="",
        theme=point.theme,
        scale=point.scale,
        question=point.question,
        help_text=point.help_text,
        legal_reference=point.legal_reference,
        schemes=point.schemes,
    )
    same = services.save_control_point(session, None, active=False, **kwargs)
    assert same is point and point.active is False and point.version == 1
    with pytest.raises(services.CatalogueError, match="Beskriv"):
        services.save_control_point(session, None, **{**kwargs, "question": "Andet"})


def test_new_point_validation(session, org):
    services.load_starter_catalogue(session, None)
    theme = session.scalars(select(Theme)).first()
    scale = session.scalars(select(Scale)).first()
    existing = _point(session).code
    for code, message in (("Ugyldig kode!", "Koden"), (existing, "allerede")):
        with pytest.raises(services.CatalogueError, match=message):
            services.save_control_point(
                session, None, point=None, code=code, theme=theme, scale=scale, question="Q?"
            )
    with pytest.raises(services.CatalogueError, match="ordning"):
        services.save_control_point(
            session,
            None,
            point=None,
            code="NY-PUNKT",
            theme=theme,
            scale=scale,
            question="Q?",
            schemes=["findes_ikke"],
        )
    created = services.save_control_point(
        session,
        None,
        point=None,
        code="ny-punkt",
        theme=theme,
        scale=scale,
        question="Q?",
        schemes=["fleksjob", "fleksjob"],
    )
    assert created.code == "NY-PUNKT" and created.version == 1 and created.schemes == ["fleksjob"]


def test_current_points_filters_by_theme_and_scheme(session, org):
    services.load_starter_catalogue(session, None)
    all_points = services.current_points(session)
    limited = [p for p in all_points if p.schemes]
    assert limited, "starter has scheme-specific points"
    scheme = limited[0].schemes[0]
    other = next(s for s in ("fleksjob", "sygedagpenge", "kontanthjaelp") if s != scheme)
    chosen = services.current_points(session, schemes=[other])
    assert all(not p.schemes or other in p.schemes for p in chosen)
    assert limited[0] not in chosen or other in limited[0].schemes
    theme = limited[0].theme
    assert {p.theme_id for p in services.current_points(session, [theme.id])} == {theme.id}
    assert session.scalar(select(func.count(ScaleOption.id))) > 0
