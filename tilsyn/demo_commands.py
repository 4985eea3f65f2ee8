"""``tilsyn demo``: load the synthetic demo municipality into an empty database;
``tilsyn demo export``: write the demo's cases as a case-system export (CSV)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from flask.cli import with_appcontext
from sqlalchemy import inspect, select, text

from tilsyn.auth.models import User
from tilsyn.extensions import db

F = TypeVar("F", bound=Callable[..., Any])

#: Printed by ``make run`` when the database already holds the demo (the logins were printed once).
RESET_HINT = (
    "Har du mistet adgangskoderne? `.venv/bin/tilsyn demo --reset` tømmer databasen, "
    "indlæser demoen igen og udskriver nye logins."
)


def _empty_database() -> None:
    """Delete every row of every table the application knows (the schema stays as migrated).

    Core statements, not the ORM: the append-only guards of the audit log and the draw records
    are ORM hooks on SQLite; on PostgreSQL, ``TRUNCATE`` does not fire their row triggers.
    """
    import tilsyn.models  # noqa: F401  (every table on the metadata)

    db.session.remove()
    existing = set(inspect(db.engine).get_table_names())
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name in existing]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            quote = conn.dialect.identifier_preparer.quote
            names = ", ".join(quote(t.name) for t in tables)
            conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


#: The demo's random seed (frø); with the date it fixes all data.
SEED_OPTION = click.option(
    "--seed", default=2026, show_default=True, type=int, help="Random seed (frø)."
)


def as_of_option(help_text: str) -> Callable[[F], F]:
    """The ``--as-of YYYY-MM-DD`` option (``as_of``: a datetime, or None for today)."""
    return click.option(
        "--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=help_text
    )


@click.group("demo", invoke_without_command=True)
@SEED_OPTION
@click.option(
    "--password",
    default=None,
    help="One password for every demo user (default: a random one per user, printed).",
)
@as_of_option("Date the demo is as of (YYYY-MM-DD; default today). Seed and date fix all data.")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing (exit 0) when the database already has users; used by `make run`.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Empty the database (every row of every table) and load the demo anew.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --reset empties the database.")
@click.pass_context
@with_appcontext
def demo(
    ctx: click.Context,
    seed: int,
    password: str | None,
    as_of: datetime | None,
    if_empty: bool,
    reset: bool,
    yes: bool,
) -> None:
    """Fill an empty database with a synthetic demo municipality, its users and cases."""
    if ctx.invoked_subcommand is not None:
        return
    from tilsyn.auth.services import AccountError
    from tilsyn.demo import DemoError, build_demo, format_summary
    from tilsyn.org.services import OrgError

    if reset and if_empty:
        raise click.UsageError("--reset og --if-empty kan ikke bruges sammen.")
    if reset:
        if not yes and not click.confirm(
            "Alle data i databasen slettes, og demodata indlæses igen med nye adgangskoder. "
            "Fortsæt?",
            default=False,
        ):
            click.echo("Afbrudt; databasen er uændret.")
            ctx.exit(1)
        _empty_database()
    elif if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("Databasen har allerede brugere; demodata indlæses ikke.")
        click.echo(RESET_HINT)
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
@SEED_OPTION
@as_of_option("Date the export is as of (YYYY-MM-DD; default today).")
def export(output: Path, seed: int, as_of: datetime | None) -> None:
    """Write the demo's open cases as a case-system export (CSV; no database needed)."""
    from tilsyn.demo_export import write_export

    written = write_export(output, seed=seed, as_of=as_of.date() if as_of else None)
    click.echo(
        f"Sagsudtræk skrevet til {written.path}: {written.rows} sager, "
        f"{written.caseworkers} sagsbehandlere, {written.teams} teams "
        f"(pr. {written.as_of:%d-%m-%Y})."
    )
