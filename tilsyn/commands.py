"""Feature CLI commands registered on the ``tilsyn`` command line."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
