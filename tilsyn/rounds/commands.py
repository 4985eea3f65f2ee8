"""``tilsyn rounds ...``: the rounds on the command line."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from tilsyn.extensions import db
from tilsyn.rounds.rounds import round_rows


@click.group("rounds")
def rounds_group() -> None:
    """Supervision rounds."""


@rounds_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def list_rounds(as_json: bool) -> None:
    """Rounds with plan, period, status, draw id and sample size."""
    rows = round_rows(db.session)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Ingen tilsynsrunder.")
        return
    width = max(len("Plan"), *(len(r.plan) for r in rows))
    click.echo(f"{'Plan':<{width}} {'Periode':<8} {'Status':<10} {'Stikprøve':>9} {'Sager':>6}")
    for r in rows:
        draw = "" if r.draw_id is None else str(r.draw_id)
        size = "" if r.sample_size is None else str(r.sample_size)
        click.echo(f"{r.plan:<{width}} {r.period:<8} {r.status:<10} {draw:>9} {size:>6}")
