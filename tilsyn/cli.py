"""The ``tilsyn`` command line. Commands call the same services as the web views."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from tilsyn import create_app
from tilsyn.extensions import db


def _create_app() -> object:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """tilsyn: ledelsestilsyn med dokumenteret risikovurdering og stikprøver."""


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False)
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Start the development web server (use gunicorn in production)."""
    from flask import current_app
    from werkzeug.serving import run_simple

    # Flask.run() refuses to start under the Flask CLI (FLASK_RUN_FROM_CLI); serve directly.
    run_simple(
        host,
        port,
        current_app._get_current_object(),  # type: ignore[attr-defined]
        use_debugger=debug,
        threaded=True,
    )


@cli.group("user")
def user_group() -> None:
    """Manage user accounts."""


@user_group.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "teamleder", "sagsbehandler", "direktoer", "revisor"]),
)
@click.option("--unit", "units", multiple=True, help="Unit led by a teamleder (repeatable).")
@click.option("--caseworker", "caseworker", default=None, help="Initials of a sagsbehandler user.")
@click.option("--name", "display_name", default=None)
@click.option("--email", default=None)
@with_appcontext
def user_create(
    username: str,
    role: str,
    units: tuple[str, ...],
    caseworker: str | None,
    display_name: str | None,
    email: str | None,
) -> None:
    """Create USERNAME. The password is read from standard input (never from argv)."""
    from tilsyn.auth import services

    if sys.stdin.isatty():
        password = click.prompt("Adgangskode", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        services.create_user(
            db.session,
            None,
            username,
            password,
            role,
            display_name=display_name,
            email=email,
            unit_names=list(units),
            caseworker_initials=caseworker,
        )
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Bruger {username.lower()} oprettet med rollen {role}.")


def _register_feature_commands() -> None:
    from tilsyn.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


def main() -> None:
    os.environ.setdefault("FLASK_APP", "tilsyn:create_app")
    Path(create_app.__module__)  # keep import explicit for type checkers
    _register_feature_commands()
    cli(prog_name="tilsyn")
