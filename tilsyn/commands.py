"""Feature CLI commands registered on the ``tilsyn`` command line."""

from __future__ import annotations

import click

from tilsyn.demo_commands import demo

COMMANDS: list[click.Command] = [
    demo,
]
