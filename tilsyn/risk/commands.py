"""``tilsyn risk ...`` commands: show the approved risk model, take the default model into use."""

from __future__ import annotations

import json
import textwrap

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from tilsyn.auth.models import User
from tilsyn.extensions import db
from tilsyn.permissions import Role, role_of
from tilsyn.risk.effect import factor_texts
from tilsyn.risk.rules import factor_from_dict
from tilsyn.risk.versions import RiskError, approved_version, ensure_default_model


def user_option_lookup(username: str | None) -> User | None:
    """The user named by ``--user`` (None = the system); a ClickException if unknown."""
    if not username:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None or not user.active:
        raise click.ClickException(f"Ukendt eller deaktiveret bruger »{username}«.")
    return user


@click.group("risk")
def risk_group() -> None:
    """The documented risk model (risikovurdering)."""


@risk_group.command("init")
@click.option(
    "--user",
    "username",
    default=None,
    help="Admin or teamleder in whose name version 1 is approved (default: the system).",
)
@with_appcontext
def init(username: str | None) -> None:
    """Take the packaged default model into use as version 1, unless a version is approved."""
    actor = user_option_lookup(username)
    if actor is not None and role_of(actor) not in (Role.ADMIN, Role.TEAMLEDER):
        raise click.ClickException("Kun en teamleder eller administrator kan godkende.")
    existed = approved_version(db.session)
    try:
        version = ensure_default_model(db.session, actor)
    except RiskError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if existed is not None:
        click.echo(f"Risikomodel version {version.number} er allerede godkendt; intet ændret.")
    else:
        click.echo(
            f"Standardmodellen er taget i brug som version {version.number}, "
            f"godkendt af {version.approved_by_name} den {version.approved_on:%d-%m-%Y}."
        )


@risk_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
@with_appcontext
def show(as_json: bool) -> None:
    """Print the approved risk model version (factors, weights, rationale, approval)."""
    version = approved_version(db.session)
    if version is None:
        raise click.ClickException(
            "Der er ingen godkendt risikomodel. Kør »tilsyn risk init« eller godkend en kladde."
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "number": version.number,
                    "name": version.name,
                    "description": version.description,
                    "approved_by": version.approved_by_name,
                    "approved_on": version.approved_on.isoformat() if version.approved_on else None,
                    "approval_note": version.approval_note,
                    "factors": version.factors,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(f"Risikomodel version {version.number}: {version.name}")
    click.echo(f"Godkendt {version.approved_on:%d-%m-%Y} af {version.approved_by_name}")
    if version.approval_note:
        click.echo(textwrap.fill(f"Bemærkning: {version.approval_note}", 100))
    click.echo("")
    for d in version.factors:
        f = factor_from_dict(d)
        rule, schemes = factor_texts(f)
        click.echo(f"{f.code}  (vægt {f.weight:g})  {f.label}")
        click.echo(f"    Regel: {rule}")
        click.echo(f"    Ordninger: {schemes}")
        click.echo(textwrap.fill(f.rationale, 100, initial_indent="    ", subsequent_indent="    "))
        click.echo("")
