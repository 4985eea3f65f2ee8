"""Rounds with hand-made draws: every sampled case's π and stratum chosen by the test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Org
from tests.sampling.factories import make_snapshot
from tilsyn.cases.models import Case
from tilsyn.catalogue.models import ControlPoint
from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.org.models import Caseworker
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus, RoundTheme, SupervisionPlan
from tilsyn.sampling.models import Draw, DrawItem


def catalogue(session: Session) -> dict[str, ControlPoint]:
    """The starter catalogue, by control point code (version 1)."""
    load_starter_catalogue(session, None)
    return {cp.code: cp for cp in session.scalars(select(ControlPoint))}


def option_id(point: ControlPoint, code: str) -> int:
    return next(o.id for o in point.scale.options if o.code == code)


@dataclass(frozen=True)
class Unit:
    """One sampled case of a hand-made design."""

    caseworker: Caseworker
    scheme: str
    pi: float
    stratum: str | None = None  # default: the caseworker's initials
    risk: float = 0.0


def make_draw(session: Session, org: Org, units: Sequence[Unit], tag: str = "a") -> Draw:
    """A recorded draw with exactly the given sampled cases (and a snapshot holding them)."""
    snapshot = make_snapshot(
        session,
        [
            {"caseworker_id": u.caseworker.id, "unit_id": u.caseworker.unit_id, "scheme": u.scheme}
            for u in units
        ],
        sha=tag * 64,
    )
    model = ensure_default_model(session, org.users["admin"], date(2026, 1, 2))
    draw = Draw(
        snapshot_id=snapshot.id,
        snapshot_sha256=snapshot.sha256,
        population_sha256="0" * 64,
        risk_model_version_id=model.id,
        factors_sha256="0" * 64,
        params={},
        caseworker_facts={},
        algorithm="test",
        algorithm_version="1",
        seed="1",
        created_by_name="test",
        purpose="round",
        sample_size=len(units),
        population_size=10 * len(units),
    )
    session.add(draw)
    session.flush()
    cases = session.execute(
        select(Case.id, Case.case_ref)
        .where(Case.snapshot_id == snapshot.id)
        .order_by(Case.case_ref)
    ).all()
    for order, (u, (case_id, case_ref)) in enumerate(zip(units, cases, strict=True)):
        session.add(
            DrawItem(
                draw_id=draw.id,
                case_id=case_id,
                case_ref=case_ref,
                caseworker_id=u.caseworker.id,
                scheme=u.scheme,
                stratum=u.stratum or u.caseworker.initials,
                risk_score=u.risk,
                inclusion_probability=u.pi,
                factors=[],
                order=order,
            )
        )
    session.flush()
    return draw


def two_team_draw(session: Session, org: Org) -> Draw:
    """A draw of AAA's cases twice (π 0.5 and 0.25, team A) and BBA's once (π 0.5, team B)."""
    return make_draw(
        session,
        org,
        [
            Unit(org.cw_a1, "sygedagpenge", 0.5),
            Unit(org.cw_a1, "sygedagpenge", 0.25),
            Unit(org.cw_b1, "sygedagpenge", 0.5),
        ],
    )


def make_plan(session: Session, name: str, unit_id: int | None) -> SupervisionPlan:
    plan = SupervisionPlan(name=name, unit_id=unit_id, starts_on=date(2025, 1, 1))
    session.add(plan)
    session.flush()
    return plan


def make_round(
    session: Session,
    plan: SupervisionPlan,
    draw: Draw | None,
    points: Sequence[ControlPoint],
    *,
    label: str = "2026-K3",
    start: date = date(2026, 7, 1),
    status: str = RoundStatus.DRAWN,
    core_codes: Sequence[str] = ("JOBMAAL", "SAMLET"),
) -> Round:
    """A round asking ``points`` (themes from their control points)."""
    rnd = Round(
        plan=plan,
        period_label=label,
        period_start=start,
        period_end=date(start.year, start.month + 2, 28),
        status=status,
        draw_id=draw.id if draw is not None else None,
        review_deadline=date(start.year, start.month + 2, 28),
    )
    session.add(rnd)
    session.flush()
    themes = []
    for cp in points:
        if cp.theme not in themes:
            themes.append(cp.theme)
    for position, theme in enumerate(themes):
        session.add(
            RoundTheme(
                round_id=rnd.id,
                theme_id=theme.id,
                is_core=theme.code in core_codes,
                position=position,
            )
        )
    for cp in points:
        session.add(
            RoundControlPoint(
                round_id=rnd.id, control_point_id=cp.id, is_core=cp.theme.code in core_codes
            )
        )
    session.flush()
    session.refresh(rnd)
    return rnd


def items_of(session: Session, draw: Draw) -> list[DrawItem]:
    return list(
        session.scalars(
            select(DrawItem).where(DrawItem.draw_id == draw.id).order_by(DrawItem.order)
        )
    )
