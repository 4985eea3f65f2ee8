"""Catalogue in the database: idempotent starter load and versioned control points."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tilsyn.audit.models import AuditEvent
from tilsyn.catalogue.models import ControlPoint, Scale, ScaleOption, Theme
from tilsyn.catalogue.points import (
    CODE_PATTERN,
    POINT_CODE_RULE,
    CatalogueError,
    checked_code,
    comparable_lineage,
    current_points,
    load_starter_catalogue,
    save_control_point,
    versions,
)
from tilsyn.catalogue.scales import OptionInput, save_scale, scale_usage
from tilsyn.catalogue.starter import load_starter


def test_starter_load_is_complete_and_idempotent(session, org):
    starter = load_starter()
    report = load_starter_catalogue(session, org.users["admin"])
    session.commit()
    assert report.themes == len(starter.themes) >= 8
    assert report.control_points == len(starter.control_points) >= 25
    assert report.scales == len(starter.scales)
    again = load_starter_catalogue(session, None)
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
    load_starter_catalogue(session, None)
    point = _point(session)
    old_question = point.question
    new = save_control_point(
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
    assert [v.version for v in versions(session, point.code)] == [2, 1]
    assert comparable_lineage(new) == [new, point]
    # A break in the series: not comparable.
    newer = save_control_point(
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
    assert comparable_lineage(newer) == [newer]
    # Only the newest version can be changed.
    with pytest.raises(CatalogueError):
        save_control_point(
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
    load_starter_catalogue(session, None)
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
    same = save_control_point(session, None, active=False, **kwargs)
    assert same is point and point.active is False and point.version == 1
    with pytest.raises(CatalogueError, match="Beskriv"):
        save_control_point(session, None, **{**kwargs, "question": "Andet"})


def test_new_point_validation(session, org):
    load_starter_catalogue(session, None)
    theme = session.scalars(select(Theme)).first()
    scale = session.scalars(select(Scale)).first()
    existing = _point(session).code
    for code, message in (("Ugyldig kode!", "Koden"), (existing, "allerede")):
        with pytest.raises(CatalogueError, match=message):
            save_control_point(
                session, None, point=None, code=code, theme=theme, scale=scale, question="Q?"
            )
    with pytest.raises(CatalogueError, match="ordning"):
        save_control_point(
            session,
            None,
            point=None,
            code="NY-PUNKT",
            theme=theme,
            scale=scale,
            question="Q?",
            schemes=["findes_ikke"],
        )
    created = save_control_point(
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
    load_starter_catalogue(session, None)
    all_points = current_points(session)
    limited = [p for p in all_points if p.schemes]
    assert limited, "starter has scheme-specific points"
    scheme = limited[0].schemes[0]
    other = next(s for s in ("fleksjob", "sygedagpenge", "kontanthjaelp") if s != scheme)
    chosen = current_points(session, schemes=[other])
    assert chosen
    assert all(not p.schemes or other in p.schemes for p in chosen)
    assert limited[0] not in chosen or other in limited[0].schemes
    theme = limited[0].theme
    assert {p.theme_id for p in current_points(session, [theme.id])} == {theme.id}
    assert session.scalar(select(func.count(ScaleOption.id))) > 0


def test_a_new_scale_cannot_be_declared_comparable(session, org):
    load_starter_catalogue(session, None)
    point = session.scalar(select(ControlPoint).where(ControlPoint.code == "JOBMAAL-01"))
    other = session.scalar(select(Scale).where(Scale.code == "ja_nej_ir"))
    assert other.id != point.scale_id
    kwargs = dict(
        point=point,
        code="",
        theme=point.theme,
        question=point.question,
        help_text=point.help_text,
        legal_reference=point.legal_reference,
        schemes=point.schemes,
        change_note="Ny skala",
    )
    with pytest.raises(CatalogueError, match="ny svarskala"):
        save_control_point(session, None, scale=other, comparable=True, **kwargs)
    assert point.active and len(versions(session, point.code)) == 1
    new = save_control_point(session, None, scale=other, comparable=False, **kwargs)
    assert new.version == 2 and new.comparable_to_id is None


def _opts(*rows):
    return [OptionInput(*row) for row in rows]


def test_scale_editor_validates_options(session, org):
    admin = org.users["admin"]
    good = _opts(
        ("1", "1 – Mangelfuld", "not_in_order", "1"),
        ("2", "2 – Forventet", "in_order", "2"),
        ("3", "3 – Høj", "in_order", "3,0"),
        ("ir", "Ikke relevant", "not_applicable", ""),
        ("", "", "in_order", ""),  # a blank row is ignored
    )
    scale = save_scale(
        session, admin, scale=None, code="Kvalitet_1_3", name=" Kvalitet  1–3 ", options=good
    )
    session.commit()
    assert (scale.code, scale.name) == ("kvalitet_1_3", "Kvalitet 1–3")
    assert [(o.code, o.outcome, o.score) for o in scale.options] == [
        ("1", "not_in_order", 1.0),
        ("2", "in_order", 2.0),
        ("3", "in_order", 3.0),
        ("ir", "not_applicable", None),
    ]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "scale").order_by(AuditEvent.id)
    ).all()[-1]
    assert event.action == "create" and event.details["options"][0]["score"] == 1.0
    bad = [
        (_opts(("ja", "Ja", "in_order", "")), "mindst to"),
        (_opts(("ja", "Ja", "in_order", ""), ("n", "Nej", "in_order", "")), "Ikke i orden"),
        (
            _opts(("ja", "Ja", "in_order", ""), ("ir", "IR", "not_applicable", "")),
            "Ikke i orden",
        ),
        (
            _opts(("1", "Lav", "not_in_order", "1"), ("2", "Høj", "in_order", "")),
            r"Svarmulighed 2 \(«Høj»\).*skal have et point",
        ),
        (
            _opts(
                ("1", "Lav", "not_in_order", "1"),
                ("2", "Høj", "in_order", "2"),
                ("ir", "IR", "not_applicable", "0"),
            ),
            "kan derfor ikke have point",
        ),
        (
            _opts(("ja", "Ja", "in_order", "x"), ("nej", "Nej", "not_in_order", "")),
            "Svarmulighed 1 .*point skal være et tal",
        ),
        (
            _opts(("ja", "Ja", "in_order", ""), ("ja", "Nej", "not_in_order", "")),
            "koden «ja» er brugt",
        ),
        (
            _opts(("ja", "Ja", "maybe", ""), ("nej", "Nej", "not_in_order", "")),
            "Svarmulighed 1 .*udfaldet",
        ),
        (_opts(("Ja!", "Ja", "in_order", ""), ("nej", "Nej", "not_in_order", "")), "koden"),
    ]
    for options, message in bad:
        with pytest.raises(CatalogueError, match=message):
            save_scale(session, admin, scale=None, code="x", name="X", options=options)
    with pytest.raises(CatalogueError, match="allerede brugt"):
        save_scale(session, admin, scale=None, code="kvalitet_1_3", name="X", options=good)
    session.rollback()
    assert session.scalar(select(func.count(Scale.id))) == 1


def test_a_used_scale_keeps_its_meaning(session, org):
    load_starter_catalogue(session, None)
    admin = org.users["admin"]
    scale = session.scalar(select(Scale).where(Scale.code == "grad"))
    used = scale_usage(session, scale)
    assert used > 0
    current = [OptionInput(o.code, o.label, o.outcome, o.score) for o in scale.options]
    # Rewording is allowed (same codes, outcomes and scores).
    reworded = [OptionInput(o.code, o.label + "!", o.outcome, o.score) for o in current]
    save_scale(session, admin, scale=scale, code="", name="Grad (ny)", options=reworded)
    session.commit()
    assert scale.name == "Grad (ny)" and scale.options[0].label.endswith("!")
    option_ids = [o.id for o in scale.options]
    flipped = ["not_in_order" if o.code == "middel" else o.outcome for o in current]
    changes = [
        [
            OptionInput(o.code, o.label, o.outcome, 5.0 if i == 0 else o.score)
            for i, o in enumerate(current)
        ],
        [
            OptionInput(o.code, o.label, outcome, o.score)
            for o, outcome in zip(current, flipped, strict=True)
        ],
        [current[0], current[2]],
        [*current, OptionInput("ir", "Ikke relevant", "not_applicable", None)],
        list(reversed(current)),
    ]
    for options in changes:
        with pytest.raises(CatalogueError, match="bruges af"):
            save_scale(session, admin, scale=scale, code="", name="G", options=options)
        session.rollback()
    session.expire_all()
    assert [o.id for o in scale.options] == option_ids
    assert [(o.outcome, o.score) for o in scale.options] == [(o.outcome, o.score) for o in current]
    # An unused scale may change meaning freely (options matched by code keep their rows).
    free = save_scale(
        session,
        admin,
        scale=None,
        code="fri",
        name="Fri",
        options=_opts(("ja", "Ja", "in_order", ""), ("nej", "Nej", "not_in_order", "")),
    )
    yes_id = free.options[0].id
    save_scale(
        session,
        admin,
        scale=free,
        code="ignored",
        name="Fri",
        options=_opts(
            ("delvist", "Delvist", "not_in_order", ""),
            ("ja", "Ja", "in_order", ""),
            ("nej", "Nej", "not_in_order", ""),
        ),
    )
    session.commit()
    assert free.code == "fri"
    assert [o.code for o in free.options] == ["delvist", "ja", "nej"]
    assert free.options[1].id == yes_id


def test_checked_code_keeps_a_good_code_and_refuses_another_with_the_rule(app) -> None:
    assert checked_code("JOBMAAL-04", CODE_PATTERN, POINT_CODE_RULE) == "JOBMAAL-04"
    with app.app_context(), pytest.raises(CatalogueError, match="fx JOBMAAL-04"):
        checked_code("jobmaal 04", CODE_PATTERN, POINT_CODE_RULE)
