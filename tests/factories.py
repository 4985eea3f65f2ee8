"""Plain factory functions for tests (no factory library needed), shared by every feature's
tests: organisation and users, snapshots of cases, catalogue and risk model, plans, rounds and
hand-made draws."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.auth.services import hash_password
from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import ControlPoint, Theme
from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.extensions import db
from tilsyn.org.models import Caseworker, Unit
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus, RoundTheme, SupervisionPlan
from tilsyn.rounds.plans import PlanInput, save_plan
from tilsyn.sampling.models import Draw, DrawItem

PASSWORD = "testpassword"


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


#: Tables whose rows PostgreSQL triggers refuse to delete (audit log, recorded draws).
TRIGGER_PROTECTED = frozenset({"audit_events", "draws", "draw_items"})


def _truncated_tables() -> list[str]:
    """The protected tables plus every table referencing them (TRUNCATE needs them together)."""
    names = set(TRIGGER_PROTECTED)
    grew = True
    while grew:
        more = {
            t.name
            for t in db.metadata.sorted_tables
            if any(fk.column.table.name in names for fk in t.foreign_keys)
        }
        grew = not more <= names
        names |= more
    return sorted(names)


def empty_database(session: Session) -> None:
    """Delete every row. On PostgreSQL the audit log and the draw records refuse DELETE (row
    triggers), so they (and the tables referencing them) are emptied with one TRUNCATE, which
    row triggers do not see; a lock wait fails instead of hanging."""
    tables = list(reversed(db.metadata.sorted_tables))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '30s'"))
        truncated = _truncated_tables()
        session.execute(text(f"TRUNCATE TABLE {', '.join(truncated)}"))
        tables = [table for table in tables if table.name not in truncated]
    for table in tables:
        session.execute(delete(table))
    session.commit()


def make_unit(session: Session, name: str) -> Unit:
    unit = Unit(name=name)
    session.add(unit)
    session.flush()
    return unit


def make_caseworker(
    session: Session,
    initials: str,
    unit: Unit,
    start: date | None = date(2020, 1, 1),
    name: str | None = None,
) -> Caseworker:
    caseworker = Caseworker(
        initials=initials,
        name=name or f"Sagsbehandler {initials}",
        unit=unit,
        employment_start=start,
    )
    session.add(caseworker)
    session.flush()
    return caseworker


def make_user(
    session: Session,
    username: str,
    role: str,
    units: list[Unit] | None = None,
    caseworker: Caseworker | None = None,
) -> User:
    user = User(
        username=username,
        display_name=username.capitalize(),
        password_hash=password_hash(),
        role=role,
        units=units or [],
        caseworker=caseworker,
    )
    session.add(user)
    session.flush()
    return user


@dataclass
class Org:
    unit_a: Unit
    unit_b: Unit
    cw_a1: Caseworker
    cw_a2: Caseworker
    cw_b1: Caseworker
    cw_b2: Caseworker
    users: dict[str, User]


def make_org(session: Session) -> Org:
    unit_a = make_unit(session, "Team A")
    unit_b = make_unit(session, "Team B")
    cw_a1 = make_caseworker(session, "AAA", unit_a)
    cw_a2 = make_caseworker(session, "AAB", unit_a, start=date(2026, 9, 1))
    cw_b1 = make_caseworker(session, "BBA", unit_b)
    cw_b2 = make_caseworker(session, "BBB", unit_b)
    users = {
        "admin": make_user(session, "admin", "admin"),
        "leder": make_user(session, "leder", "teamleder", units=[unit_a]),
        "sagsbehandler": make_user(session, "sagsbehandler", "sagsbehandler", caseworker=cw_a1),
        "sagsbehandler2": make_user(session, "sagsbehandler2", "sagsbehandler", caseworker=cw_b1),
        "direktoer": make_user(session, "direktoer", "direktoer"),
        "revisor": make_user(session, "revisor", "revisor"),
    }
    session.commit()
    return Org(unit_a, unit_b, cw_a1, cw_a2, cw_b1, cw_b2, users)


# ---------------------------------------------------------------- snapshots of cases

AS_OF = date(2026, 12, 1)
SCHEME_CYCLE = ("sygedagpenge", "jobafklaring", "ledighedsydelse", "kontanthjaelp", "fleksjob")


def make_snapshot(
    session: Session, cases: Sequence[dict[str, Any]], as_of: date = AS_OF, sha: str = "a" * 64
) -> Snapshot:
    """A snapshot with the given case rows (dicts of Case columns; defaults filled in)."""
    snapshot = Snapshot(
        as_of=as_of,
        source_filename="test.csv",
        sha256=sha,
        mapping_name="test",
        row_count=len(cases),
        imported_by_name="test",
    )
    session.add(snapshot)
    session.flush()
    rows = []
    for i, c in enumerate(cases):
        row: dict[str, Any] = {
            "snapshot_id": snapshot.id,
            "case_ref": f"S{i:05d}",
            "scheme": "sygedagpenge",
            "start_date": as_of - timedelta(days=100),
            "last_conversation": None,
            "conversations_12m": None,
            "reassessment_due": None,
            "caseworker_changes_12m": None,
            "job_goal": None,
            "cv_on_jobnet": None,
            "weekly_hours": None,
            "unit_id": None,
        }
        row.update(c)
        rows.append(row)
    if rows:
        session.execute(insert(Case), rows)
    session.flush()
    return snapshot


def make_population(
    session: Session,
    caseworkers: Sequence[tuple[Caseworker, int]],
    as_of: date = AS_OF,
    seed: int = 7,
) -> Snapshot:
    """Varied cases: ``count`` per caseworker, attributes drawn from a seeded generator."""
    rng = np.random.default_rng(seed)
    cases = []
    for cw, count in caseworkers:
        for _ in range(count):
            scheme = SCHEME_CYCLE[int(rng.integers(len(SCHEME_CYCLE)))]
            age = int(rng.integers(10, 800))
            cases.append(
                {
                    "caseworker_id": cw.id,
                    "unit_id": cw.unit_id,
                    "scheme": scheme,
                    "start_date": as_of - timedelta(days=age),
                    "last_conversation": as_of - timedelta(days=int(rng.integers(0, 200))),
                    "conversations_12m": int(rng.integers(0, 10)),
                    "reassessment_due": as_of + timedelta(days=int(rng.integers(-30, 300))),
                    "caseworker_changes_12m": int(rng.integers(0, 4)),
                    "job_goal": bool(rng.random() < 0.5),
                    "cv_on_jobnet": bool(rng.random() < 0.6),
                }
            )
    return make_snapshot(session, cases, as_of=as_of)


def tamper(session: Session, sql: str, params: dict[str, Any]) -> None:
    """Change stored draw rows behind the application's back, and commit.

    On PostgreSQL the immutability triggers are disabled for the statement, as the table's owner
    (or a superuser) could do; :func:`tilsyn.sampling.verify.verify` must still notice.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    tables = ("draws", "draw_items")
    if postgres:
        for table in tables:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable"))
    session.execute(text(sql), params)
    if postgres:
        for table in tables:
            session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_immutable"))
    session.commit()


# ------------------------------------------------- catalogue, risk model, plans (service)

SCHEMES = ("sygedagpenge", "jobafklaring", "fleksjob", "kontanthjaelp")


def make_org_snapshot(session: Session, org: Org, as_of: date, per_caseworker: int = 8) -> Snapshot:
    """A snapshot of ``per_caseworker`` cases for each of the four caseworkers of ``org``."""
    snapshot = Snapshot(
        as_of=as_of,
        source_filename="test.csv",
        sha256=f"{as_of:%Y%m%d}".ljust(64, "0"),
        mapping_name="standard",
        row_count=4 * per_caseworker,
        imported_by_name="test",
    )
    session.add(snapshot)
    session.flush()
    for cw in (org.cw_a1, org.cw_a2, org.cw_b1, org.cw_b2):
        for i in range(per_caseworker):
            session.add(
                Case(
                    snapshot_id=snapshot.id,
                    case_ref=f"{cw.initials}-{i:03d}",
                    caseworker_id=cw.id,
                    unit_id=cw.unit_id,
                    scheme=SCHEMES[i % len(SCHEMES)],
                    start_date=as_of - timedelta(days=30 + 40 * i),
                    conversations_12m=i % 7,
                    job_goal=i % 2 == 0,
                    cv_on_jobnet=i % 3 != 0,
                )
            )
    session.flush()
    return snapshot


def themes_by_code(session: Session) -> dict[str, Theme]:
    return {t.code: t for t in session.scalars(select(Theme))}


def setup_catalogue_and_model(session: Session, org: Org) -> dict[str, Theme]:
    load_starter_catalogue(session, None)
    ensure_default_model(session, org.users["admin"], date(2026, 1, 2))
    return themes_by_code(session)


def make_plan(
    session: Session,
    org: Org,
    *,
    name: str = "Team A kvartal",
    unit_id: int | None = -1,
    starts_on: date = date(2025, 1, 1),
    rotating: int = 4,
    per_round: int = 1,
    mode: str = "sequence",
    **extra: object,
) -> SupervisionPlan:
    themes = themes_by_code(session)
    core = [t.id for t in themes.values() if t.is_core]
    rot = [t.id for t in sorted(themes.values(), key=lambda t: t.position) if not t.is_core]
    data = PlanInput(
        name=name,
        unit_id=org.unit_a.id if unit_id == -1 else unit_id,
        core_theme_ids=core,
        rotating_theme_ids=rot[:rotating],
        rotating_per_round=per_round,
        rotation_mode=mode,
        per_caseworker=2,
        new_caseworker=3,
        starts_on=starts_on,
        **extra,  # type: ignore[arg-type]
    )
    return save_plan(session, org.users["admin"], None, data)


# ---------------------------------------------- hand-made draws, plan rows and rounds


def catalogue(session: Session) -> dict[str, ControlPoint]:
    """The starter catalogue, by control point code (version 1)."""
    load_starter_catalogue(session, None)
    return {cp.code: cp for cp in session.scalars(select(ControlPoint))}


def option_id(point: ControlPoint, code: str) -> int:
    return next(o.id for o in point.scale.options if o.code == code)


@dataclass(frozen=True)
class SampledCase:
    """One sampled case of a hand-made design."""

    caseworker: Caseworker
    scheme: str
    pi: float
    stratum: str | None = None  # default: the caseworker's initials
    risk: float = 0.0


def draw_record(
    snapshot: Snapshot, model: Any, *, sample_size: int, population_size: int, **fields: Any
) -> Draw:
    """A ``Draw`` row with placeholder hashes and seed for a hand-made design (not added)."""
    values: dict[str, Any] = {
        "population_sha256": "0" * 64,
        "factors_sha256": "0" * 64,
        "params": {},
        "caseworker_facts": {},
        "algorithm": "test",
        "algorithm_version": "1",
        "seed": "1",
        "created_by_name": "test",
        "purpose": "round",
    }
    values.update(fields)
    return Draw(
        snapshot_id=snapshot.id,
        snapshot_sha256=snapshot.sha256,
        risk_model_version_id=model.id,
        sample_size=sample_size,
        population_size=population_size,
        **values,
    )


def round_control_point_id(rnd: Round, code: str) -> int:
    """The id of the round's control point with ``code``."""
    return next(
        rcp.control_point_id
        for rcp in rnd.control_points  # type: ignore[attr-defined]
        if rcp.control_point.code == code
    )


def make_draw(session: Session, org: Org, units: Sequence[SampledCase], tag: str = "a") -> Draw:
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
    draw = draw_record(snapshot, model, sample_size=len(units), population_size=10 * len(units))
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
            SampledCase(org.cw_a1, "sygedagpenge", 0.5),
            SampledCase(org.cw_a1, "sygedagpenge", 0.25),
            SampledCase(org.cw_b1, "sygedagpenge", 0.5),
        ],
    )


def make_plan_row(session: Session, name: str, unit_id: int | None) -> SupervisionPlan:
    """A bare plan row (no themes), for rounds made by :func:`make_round`."""
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
