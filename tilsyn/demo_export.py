"""A realistic case-system export from the demo generator (``tilsyn demo export``).

The rows are the demo municipality's open cases (:mod:`tilsyn.demo`: the same seed and as-of
date give the same cases as ``tilsyn demo``), written as the case system writes its export:
``;``-separated, UTF-8 with a byte-order mark, dates ``dd-mm-yyyy``, decimal comma, ``Ja``/``Nej``,
and the column names of the standard column mapping (``config/mappings/standard.toml``). The
tests import such a file instead of an example kept outside the project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tilsyn import tabular
from tilsyn.demo import base_rng, plan_cases, plan_caseworkers
from tilsyn.schemes import SCHEME_NAMES_DA

#: The export's columns, in the case system's order.
EXPORT_HEADER: tuple[str, ...] = (
    "Sags-ID",
    "Sagsbehandler",
    "Sagsbehandler navn",
    "Team",
    "Ordning",
    "Sagsstart",
    "Seneste samtale",
    "Samtaler seneste 12 mdr",
    "Frist revurdering",
    "Sagsbehandlerskift 12 mdr",
    "Jobmål registreret",
    "Cv på Jobnet",
    "Ugentlige timer",
)


@dataclass(frozen=True)
class DemoExport:
    """What :func:`write_export` wrote."""

    path: Path
    rows: int
    caseworkers: int
    teams: int
    as_of: date


def _hours(value: float | None) -> str | None:
    """Weekly hours as the case system writes them: ``15`` or ``15,5``."""
    return None if value is None else f"{value:g}".replace(".", ",")


def export_rows(seed: int, as_of: date) -> list[Sequence[tabular.Cell]]:
    """The demo's case rows as export cells, in the case system's order (by caseworker)."""
    rng = base_rng(seed)
    plans = plan_caseworkers(rng, as_of)
    names = {plan.initials: plan.name for plan in plans}
    return [
        [
            row["case_ref"],
            row["caseworker"],
            names[row["caseworker"]],
            row["team"],
            SCHEME_NAMES_DA[row["scheme"]],
            row["start_date"],
            row["last_conversation"],
            row["conversations_12m"],
            row["reassessment_due"],
            row["caseworker_changes_12m"],
            row["job_goal"],
            row["cv_on_jobnet"],
            _hours(row["weekly_hours"]),
        ]
        for row in plan_cases(rng, plans, as_of)
    ]


def write_export(path: Path, *, seed: int = 2026, as_of: date | None = None) -> DemoExport:
    """Write the demo's export to ``path`` (CSV, Danish conventions)."""
    as_of = as_of or date.today()
    rows = export_rows(seed, as_of)
    path.write_bytes(tabular.csv_bytes(EXPORT_HEADER, rows))
    return DemoExport(
        path,
        len(rows),
        len({row[1] for row in rows}),
        len({row[3] for row in rows}),
        as_of,
    )
