"""``tilsyn sample ...`` commands: draw, verify and export recorded samples."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from tilsyn.cases.models import Snapshot
from tilsyn.extensions import db
from tilsyn.risk.commands import user_option_lookup
from tilsyn.risk.population import open_actions_at, prior_findings_at
from tilsyn.sampling.design import DesignParams, SamplingError
from tilsyn.sampling.draw import draw_sample
from tilsyn.sampling.models import Draw
from tilsyn.sampling.records import export_csv
from tilsyn.sampling.verify import record_verification
from tilsyn.sampling.verify import verify as verify_draw


@click.group("sample")
def sample_group() -> None:
    """Risk-weighted stratified samples (stikprøver)."""


def _draw_or_fail(draw_id: int) -> Draw:
    draw = db.session.get(Draw, draw_id)
    if draw is None:
        raise click.ClickException(f"Stikprøve {draw_id} findes ikke.")
    return draw


@sample_group.command("draw")
@click.option("--snapshot", "snapshot_id", type=int, required=True, help="Snapshot id.")
@click.option("--per-caseworker", type=int, default=2, show_default=True, help="n")
@click.option("--new-caseworker", type=int, default=4, show_default=True, help="m")
@click.option("--new-months", type=int, default=6, show_default=True, help="k")
@click.option("--lambda", "lam", type=float, default=1.0, show_default=True, help="λ")
@click.option("--by-scheme", is_flag=True, help="Strata caseworker × scheme.")
@click.option("--seed", type=int, default=None, help="Seed (default: fresh 128-bit entropy).")
@click.option("--note", default="", help="Note stored with the draw.")
@click.option("--user", "username", default=None, help="Actor (default: the system).")
@click.option("--json", "as_json", is_flag=True, help='Print {"draw_id", "seed", "sample_size"}.')
@with_appcontext
def draw(
    snapshot_id: int,
    per_caseworker: int,
    new_caseworker: int,
    new_months: int,
    lam: float,
    by_scheme: bool,
    seed: int | None,
    note: str,
    username: str | None,
    as_json: bool,
) -> None:
    """Draw and record a sample of a snapshot with the approved risk model."""
    snapshot = db.session.get(Snapshot, snapshot_id)
    if snapshot is None:
        raise click.ClickException(f"Sagsudtræk {snapshot_id} findes ikke.")
    actor = user_option_lookup(username)
    params = DesignParams(per_caseworker, new_caseworker, new_months, lam, by_scheme)
    try:
        result = draw_sample(
            db.session,
            actor,
            snapshot,
            params,
            prior_findings=prior_findings_at(db.session, snapshot.as_of),
            open_actions=open_actions_at(db.session, snapshot.as_of),
            seed=seed,
            note=note,
        )
    except SamplingError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if as_json:
        click.echo(
            json.dumps(
                {"draw_id": result.id, "seed": result.seed, "sample_size": result.sample_size}
            )
        )
    else:
        click.echo(
            f"Stikprøve {result.id}: {result.sample_size} af {result.population_size} sager "
            f"(seed {result.seed})."
        )


@sample_group.command("verify")
@click.argument("draw_id", type=int)
@with_appcontext
def verify(draw_id: int) -> None:
    """Replay DRAW_ID from its record; exit 0 only if the selection and π are identical."""

    record = _draw_or_fail(draw_id)
    result = verify_draw(db.session, record)
    record_verification(db.session, None, record, result)
    db.session.commit()
    click.echo(
        f"NumPy ved trækningen: {result.numpy_recorded or 'ikke registreret'}; "
        f"NumPy nu: {result.numpy_now}; "
        f"bitgenerator: {result.bit_generator or 'ikke registreret'}."
    )
    if result.ok:
        click.echo(
            f"Stikprøve {draw_id} er identisk med genberegningen ({record.sample_size} sager)."
        )
        return
    click.echo(f"Stikprøve {draw_id} afviger fra genberegningen:", err=True)
    for difference in result.differences:
        click.echo(f"  - {difference}", err=True)
    click.get_current_context().exit(1)


@sample_group.command("export")
@click.argument("draw_id", type=int)
@with_appcontext
def export(draw_id: int) -> None:
    """Write DRAW_ID's sample as CSV to standard output: the same bytes as the web download
    (UTF-8 with BOM, ;-separated, decimal comma)."""

    record = _draw_or_fail(draw_id)
    body = export_csv(db.session, None, record)
    db.session.commit()
    click.echo(body, nl=False)  # bytes go to the binary stream unchanged
