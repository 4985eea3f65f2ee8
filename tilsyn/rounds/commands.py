"""``tilsyn rounds ...`` and ``tilsyn scheduler``."""

from __future__ import annotations

import json
import logging
import signal
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from tilsyn.extensions import db


@click.group("rounds")
def rounds_group() -> None:
    """Supervision rounds."""


@rounds_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def list_rounds(as_json: bool) -> None:
    """Rounds with plan, period, status, draw id and sample size."""
    from tilsyn.rounds import services

    rows = services.round_rows(db.session)
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


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("brug formatet ÅÅÅÅ-MM-DD") from exc


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run what is due once, deliver mail, and exit.")
@click.option(
    "--now", "now", callback=_parse_date, default=None, help="Pretend today is YYYY-MM-DD."
)
@with_appcontext
def scheduler_command(once: bool, now: date | None) -> None:
    """The scheduler process (rounds, reminders, mail). Run exactly one per installation is
    enough; a second one is harmless.

    Logs every job run at INFO to standard error (rounds created, drawn and waiting,
    reminders, mail delivered); SIGTERM or Ctrl+C stops it cleanly (exit status 0).
    """
    from tilsyn.rounds import scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        for line in scheduler.run_once(app, now):
            click.echo(line)
        return
    if now is not None:
        raise click.UsageError("--now kan kun bruges sammen med --once.")
    scheduler.configure_logging()
    log = logging.getLogger("tilsyn.rounds.scheduler")
    # Catch up at start: whatever fell due while no scheduler was running is done now, once.
    for line in scheduler.run_once(app):
        click.echo(line)
    sched = scheduler.build_scheduler(app)
    signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
    click.echo("Planlæggeren kører (stop med Ctrl+C).")
    log.info("Planlæggeren kører.")
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        if sched.running:
            sched.shutdown(wait=False)
    log.info("Planlæggeren er stoppet.")
    click.echo("Planlæggeren er stoppet.")
