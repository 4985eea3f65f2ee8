"""``tilsyn demo``: load the synthetic demo municipality into an empty database;
``tilsyn demo export``: write the demo's cases as a case-system export (CSV)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from tilsyn.auth.models import User
from tilsyn.extensions import db


@click.group("demo", invoke_without_command=True)
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed (frø).")
@click.option(
    "--password",
    default=None,
    help="One password for every demo user (default: a random one per user, printed).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the demo is as of (YYYY-MM-DD; default today). Seed and date fix all data.",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing (exit 0) when the database already has users; used by `make run`.",
)
@click.pass_context
@with_appcontext
def demo(
    ctx: click.Context,
    seed: int,
    password: str | None,
    as_of: datetime | None,
    if_empty: bool,
) -> None:
    """Fill an empty database with a synthetic demo municipality, its users and cases."""
    if ctx.invoked_subcommand is not None:
        return
    from tilsyn.auth.services import AccountError
    from tilsyn.demo import DemoError, build_demo, format_summary
    from tilsyn.org.services import OrgError

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("Databasen har allerede brugere; demodata indlæses ikke.")
        return
    try:
        summary = build_demo(
            db.session, seed=seed, password=password, today=as_of.date() if as_of else None
        )
    except (DemoError, AccountError, OrgError) as exc:
        db.session.rollback()
        click.echo(f"Fejl: {exc}", err=True)
        ctx.exit(1)
    db.session.commit()
    click.echo(format_summary(summary))


@demo.command("export")
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path("sagsudtraek-demo.csv"),
    show_default=True,
    help="The CSV file to write.",
)
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed (frø).")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the export is as of (YYYY-MM-DD; default today).",
)
def export(output: Path, seed: int, as_of: datetime | None) -> None:
    """Write the demo's open cases as a case-system export (CSV; no database needed)."""
    from tilsyn.demo_export import write_export

    written = write_export(output, seed=seed, as_of=as_of.date() if as_of else None)
    click.echo(
        f"Sagsudtræk skrevet til {written.path}: {written.rows} sager, "
        f"{written.caseworkers} sagsbehandlere, {written.teams} teams "
        f"(pr. {written.as_of:%d-%m-%Y})."
    )
