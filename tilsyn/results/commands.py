"""``tilsyn reviews export`` (answers as CSV) and ``tilsyn results export --json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from flask.cli import with_appcontext

from tilsyn.extensions import db

_F = TypeVar("_F", bound=Callable[..., object])


def _period(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from tilsyn.results.data import valid_period

    if value is not None and not valid_period(value):
        raise click.BadParameter(
            f"»{value}« er ikke en periode; brug fx 2026-K4, 2026-H2 eller 2026"
        )
    return value


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def _export_options(period_help: str) -> Callable[[_F], _F]:
    """The options both exports share, ``--period`` (checked) and ``--output`` (standard
    output when left out), on a command that runs in the application context."""

    def decorate(func: _F) -> _F:
        func = with_appcontext(func)
        func = click.option(
            "--output", type=click.Path(dir_okay=False, path_type=Path), default=None
        )(func)
        return click.option("--period", callback=_period, default=None, help=period_help)(func)

    return decorate


@click.group("reviews")
def reviews_group() -> None:
    """Case reviews (findings)."""


@reviews_group.command("export")
@click.option("--round", "round_id", type=int, default=None, help="Only this round.")
@_export_options(period_help="Only rounds of this period.")
def export_reviews(round_id: int | None, period: str | None, output: Path | None) -> None:
    """The answers as CSV: one row per sampled case x control point of its round."""
    from tilsyn.results.exports import reviews_csv

    _write(reviews_csv(db.session, round_id=round_id, period=period), output)


@click.group("results")
def results_group() -> None:
    """Design-weighted results over periods."""


@results_group.command("export")
@click.option("--json", "as_json", is_flag=True, required=True, help="JSON (the only format).")
@_export_options(period_help="Only this period.")
def export_results(as_json: bool, period: str | None, output: Path | None) -> None:
    """The figures per period, unit, control point and theme, with their changes, as JSON."""
    from tilsyn.results.exports import results_json
    from tilsyn.results.services import options_from_config

    rows = results_json(db.session, period, options_from_config())
    _write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", output)
