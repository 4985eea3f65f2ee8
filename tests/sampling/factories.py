"""Snapshots with cases inserted directly (no import service needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from tilsyn.cases.models import Case, Snapshot
from tilsyn.org.models import Caseworker

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
