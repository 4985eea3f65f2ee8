"""Feature CLI commands registered on the ``tilsyn`` command line."""

from __future__ import annotations

import click

from tilsyn.cases.commands import import_command
from tilsyn.catalogue.commands import catalogue_group
from tilsyn.demo_commands import demo
from tilsyn.results.commands import results_group, reviews_group
from tilsyn.risk.commands import risk_group
from tilsyn.rounds.commands import rounds_group
from tilsyn.sampling.commands import sample_group
from tilsyn.scheduler import scheduler_command

COMMANDS: list[click.Command] = [
    demo,
    import_command,
    catalogue_group,
    rounds_group,
    scheduler_command,
    risk_group,
    sample_group,
    reviews_group,
    results_group,
]
