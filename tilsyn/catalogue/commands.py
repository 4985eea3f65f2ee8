"""``tilsyn catalogue ...`` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.extensions import db


@click.group("catalogue")
def catalogue_group() -> None:
    """Catalogue of themes and control points."""


@catalogue_group.command("load")
@with_appcontext
def load() -> None:
    """Load the starter catalogue (idempotent: existing codes are left alone)."""
    report = load_starter_catalogue(db.session, None)
    db.session.commit()
    if report.nothing_new:
        click.echo("Startkataloget var allerede indlæst; intet nyt tilføjet.")
    else:
        click.echo(
            f"Startkatalog indlæst: {report.scales} skalaer, {report.themes} temaer, "
            f"{report.control_points} kontrolpunkter."
        )
