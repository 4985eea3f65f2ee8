"""Demo history: one quarterly plan per team with eight past rounds and the current one.

Registered in :data:`tilsyn.demo.DEMO_EXTENSIONS`. Each team's plan covers the schemes of the
team's cases in the demo snapshot (so the Fleksjob team is not asked sygedagpenge questions),
with the catalogue's suggested core themes as fixed core and the other themes rotating two per
round in catalogue order; themes without a control point for the team's schemes are left out.
Every round is drawn from the demo's one snapshot (the demo has no older exports), with seeds
taken from the extension's own generator, so the same demo seed gives the same rounds. Past
rounds are closed; the current quarter's round is under review.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.cases.models import Case
from tilsyn.cases.snapshots import latest_snapshot
from tilsyn.catalogue.models import Theme
from tilsyn.catalogue.points import current_points, load_starter_catalogue
from tilsyn.org.models import Unit
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.errors import RoundError
from tilsyn.rounds.models import RotationMode, RoundStatus
from tilsyn.rounds.periods import Cadence, period_containing, previous_period
from tilsyn.rounds.plans import PlanInput, save_plan
from tilsyn.rounds.rounds import create_round, draw_round, transition

PAST_ROUNDS = 8
ROTATING_PER_ROUND = 2


def add_demo_rounds(session: Session, actor: User, rng: np.random.Generator, today: date) -> None:
    """Create the demo plans (one per active team) and their rounds; flushes, never commits."""
    load_starter_catalogue(session, actor)
    ensure_default_model(session, actor, today)
    snapshot = latest_snapshot(session)
    if snapshot is None:
        raise RoundError("Demoen har intet sagsudtræk at trække runderne fra.")
    themes = list(session.scalars(select(Theme).order_by(Theme.position, Theme.id)))
    current = period_containing(Cadence.QUARTERLY, today)
    periods = [current]
    for _ in range(PAST_ROUNDS):
        periods.insert(0, previous_period(Cadence.QUARTERLY, periods[0]))
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    for unit in units:
        schemes = sorted(
            set(
                session.scalars(
                    select(Case.scheme)
                    .where(Case.snapshot_id == snapshot.id, Case.unit_id == unit.id)
                    .distinct()
                )
            )
        )
        if not schemes:
            continue  # a team without cases has nothing to supervise
        asked = {p.theme_id for p in current_points(session, schemes=schemes)}
        core = [t.id for t in themes if t.is_core and t.id in asked]
        rotating = [t.id for t in themes if not t.is_core and t.id in asked]
        plan = save_plan(
            session,
            actor,
            None,
            PlanInput(
                name=f"Kvartalstilsyn {unit.name}",
                unit_id=unit.id,
                cadence=Cadence.QUARTERLY,
                per_caseworker=2,
                new_caseworker=4,
                new_months=6,
                lam=1.0,
                exclude_recent_rounds=1,
                schemes=schemes,
                core_theme_ids=core,
                rotating_theme_ids=rotating,
                rotation_mode=RotationMode.SEQUENCE,
                rotating_per_round=min(ROTATING_PER_ROUND, len(rotating)),
                review_weeks=8,
                # The next quarter's round must find the demo snapshot recent enough from any
                # day of the current quarter.
                snapshot_max_age_days=100,
                starts_on=periods[0].start,
            ),
            today,
        )
        for period in periods:
            rnd = create_round(session, actor, plan, period)
            seed = int(rng.integers(0, 2**62))
            # Every demo round is drawn before any demo review exists: no prior findings.
            draw_round(session, actor, rnd, snapshot=snapshot, seed=seed, prior_findings={})
            transition(session, actor, rnd, RoundStatus.IN_REVIEW)
            if period != current:
                transition(session, actor, rnd, RoundStatus.CLOSED)
