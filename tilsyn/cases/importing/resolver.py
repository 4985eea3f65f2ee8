"""Whose cases are these: caseworker and unit lookup for one import, creating caseworkers when
the user asked to."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from tilsyn.auth.models import User
from tilsyn.cases.importing.records import RecordBatch
from tilsyn.cases.importing.result import (
    MAX_CASEWORKER_NAME,
    MAX_TEAM,
    UNKNOWN_UNIT_NAME,
    ImportSetupError,
    UnitChoice,
    UnknownCaseworker,
)
from tilsyn.org import services as org
from tilsyn.org.models import Caseworker, Unit


class Resolver:
    """Caseworker and unit lookup for one import, creating caseworkers when asked to."""

    def __init__(
        self,
        session: Session,
        actor: User | None,
        *,
        choices: Mapping[str, UnitChoice] | None,
        create_in_file_team: bool,
        dry_run: bool,
    ) -> None:
        self.session = session
        self.actor = actor
        self.choices = {k.strip().upper(): v for k, v in (choices or {}).items()}
        self.create_in_file_team = create_in_file_team
        self.dry_run = dry_run
        self.known: dict[str, tuple[int, int]] = {
            initials: (cw_id, unit_id)
            for cw_id, initials, unit_id in session.execute(
                select(Caseworker.id, Caseworker.initials, Caseworker.unit_id)
            )
        }
        self.units: dict[str, Unit] = {u.name.lower(): u for u in session.scalars(select(Unit))}
        self.unknown: dict[str, UnknownCaseworker] = {}
        self.created_caseworkers: list[str] = []
        self.created_units: list[str] = []

    def resolve(
        self, initials: str, name: str | None, team: str | None, row: int
    ) -> tuple[int, int] | None:
        """(caseworker id, unit id), or None if the caseworker is unknown and not to be made."""
        found = self.known.get(initials)
        if found is not None:
            return found
        seen = self.unknown.get(initials)
        if seen is not None:
            self.unknown[initials] = UnknownCaseworker(
                seen.initials, seen.name, seen.team, seen.first_row, seen.cases + 1
            )
            return None
        choice = self._choice_for(initials, team)
        if self.dry_run or choice is None:
            self.unknown[initials] = UnknownCaseworker(initials, name or "", team, row, 1)
            return None
        unit = self._unit(choice)
        caseworker = org.save_caseworker(
            self.session,
            self.actor,
            initials,
            (name or initials)[:MAX_CASEWORKER_NAME],
            unit,
            None,
        )
        self.created_caseworkers.append(initials)
        self.known[initials] = (caseworker.id, unit.id)
        return self.known[initials]

    def resolve_batch(self, batch: RecordBatch) -> list[tuple[int, int] | None]:
        """(caseworker id, unit id) or None for every row of the batch."""
        initials = batch.column("caseworker")
        resolved = list(map(self.known.get, initials))
        if None in resolved:
            names, teams = batch.column("caseworker_name"), batch.column("team")
            for index, found in enumerate(resolved):
                if found is None:
                    resolved[index] = self.resolve(
                        initials[index], names[index], teams[index], batch.rows[index]
                    )
        return resolved

    def _choice_for(self, initials: str, team: str | None) -> UnitChoice | None:
        if initials in self.choices:
            return self.choices[initials]
        if self.create_in_file_team:
            return team or UNKNOWN_UNIT_NAME
        return None

    def _unit(self, choice: UnitChoice) -> Unit:
        if isinstance(choice, int):
            unit = self.session.get(Unit, choice)
            if unit is None:
                raise ImportSetupError("Den valgte enhed findes ikke længere.")
            return unit
        name = " ".join(choice.split())[:MAX_TEAM] or UNKNOWN_UNIT_NAME
        unit = self.units.get(name.lower())
        if unit is None:
            unit = org.save_unit(self.session, self.actor, name)
            self.units[name.lower()] = unit
            self.created_units.append(name)
        return unit

    def unit_exists(self, name: str) -> bool:
        return name.lower() in self.units
