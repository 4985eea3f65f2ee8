"""Test data for plans and rounds: a catalogue, a snapshot of cases, plans."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Org
from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import Theme
from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.models import SupervisionPlan
from tilsyn.rounds.plans import PlanInput, save_plan

SCHEMES = ("sygedagpenge", "jobafklaring", "fleksjob", "kontanthjaelp")


def make_snapshot(session: Session, org: Org, as_of: date, per_caseworker: int = 8) -> Snapshot:
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
