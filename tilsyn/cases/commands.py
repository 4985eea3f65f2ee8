"""``tilsyn import FILE``: import a case-system export as a snapshot (same service as the web)."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from tilsyn.cases.importing import pipeline, setup
from tilsyn.cases.importing.result import ImportResult, ImportSetupError, clean_filename
from tilsyn.extensions import db


def _cli_user() -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "ukendt"
    return f"kommandolinje ({who})"[:80]


class _Refusal(Exception):
    """A problem with the command's arguments, reported like a refused file."""


def _as_of(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _Refusal("Ugyldig --as-of: brug formatet ÅÅÅÅ-MM-DD.") from exc


def _readable_file(file: Path) -> Path:
    """The file, or :class:`_Refusal` naming it (without directories or CPR-like parts)."""
    try:
        with file.open("rb"):
            pass
    except OSError as exc:
        name = clean_filename(str(file))
        raise _Refusal(f"Filen {name} findes ikke eller kan ikke læses.") from exc
    if not file.is_file():
        raise _Refusal(f"{clean_filename(str(file))} er ikke en fil.")
    return file


def _refuse(message: str, as_json: bool) -> SystemExit:
    if as_json:
        payload = {"errors": [{"row": 0, "column": None, "reason": message}]}
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo(f"Fejl: {message}", err=True)
    return SystemExit(1)


def _same_file_notes(result: ImportResult) -> list[str]:
    return [
        f"Bemærk: Denne fil er allerede indlæst som sagsudtræk nr. {earlier.id} den "
        f"{earlier.imported_at.strftime('%d-%m-%Y')}."
        for earlier in result.same_file
    ]


def _row_text(row: int) -> str:
    return "Hele filen" if row == 0 else f"Række {row}"


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--mapping", "mapping_name", default=None, help="Kolonneopsætning (standard).")
@click.option("--as-of", "as_of_text", default=None, help="Udtrækkets dato, ÅÅÅÅ-MM-DD (i dag).")
@click.option(
    "--create-caseworkers",
    is_flag=True,
    help="Opret ukendte sagsbehandlere i filens team (enheden oprettes om nødvendigt).",
)
@click.option("--json", "as_json", is_flag=True, help="Skriv resultatet som JSON.")
@with_appcontext
def import_command(
    file: Path,
    mapping_name: str | None,
    as_of_text: str | None,
    create_caseworkers: bool,
    as_json: bool,
) -> None:
    """Import FILE (CSV or XLSX) as a new snapshot. Exit 0 on success, 1 on refusal.

    With --json every outcome is JSON on standard output: {"snapshot_id", "rows",
    "caseworkers", "teams"} on success, {"errors": [{"row", "column", "reason"}, ...]} on refusal,
    bad arguments included: every error up to IMPORT_MAX_ERRORS, then one saying how many more.
    """
    try:
        as_of = _as_of(as_of_text)
        file = _readable_file(file)
        mapping = setup.import_mapping(mapping_name, current_app.config["MAPPINGS_DIR"])
    except (_Refusal, ImportSetupError) as exc:
        raise _refuse(str(exc), as_json) from exc

    importer = _cli_user()
    result = pipeline.import_file(
        db.session,
        None,
        file,
        mapping,
        as_of=as_of,
        filename=file.name,
        create_caseworkers=create_caseworkers,
        imported_by_name=importer,
        **setup.read_options(current_app.config),
    )
    if not result.ok or result.snapshot is None:
        db.session.rollback()
        pipeline.record_refused_import(db.session, None, result, imported_by_name=importer)
        db.session.commit()
        if as_json:
            click.echo(json.dumps({"errors": result.error_dicts()}, ensure_ascii=False))
        else:
            click.echo(
                f"Sagsudtrækket {result.filename} blev ikke indlæst: "
                f"{result.error_count} fejl. Intet er gemt.",
                err=True,
            )
            for error in result.errors:
                value = f" (værdi: {error.value})" if error.value is not None else ""
                column = f", kolonne «{error.column_name}»" if error.column else ""
                click.echo(f"  {_row_text(error.row)}{column}: {error.reason}{value}", err=True)
            if result.errors_omitted:
                click.echo(f"  {result.error_dicts()[-1]['reason']}", err=True)
            if result.unknown_caseworkers:
                click.echo(
                    "Brug --create-caseworkers for at oprette de ukendte sagsbehandlere.",
                    err=True,
                )
        raise SystemExit(1)

    snapshot_id = result.snapshot.id
    db.session.commit()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "snapshot_id": snapshot_id,
                    "rows": result.rows,
                    "caseworkers": result.caseworkers,
                    "teams": result.teams,
                }
            )
        )
        return
    click.echo(
        f"Sagsudtræk {snapshot_id} indlæst pr. {as_of.strftime('%d-%m-%Y')} fra {result.filename}: "
        f"{result.rows} sager, {result.caseworkers} sagsbehandlere, {result.teams} teams "
        f"({result.seconds:.1f} s)."
    )
    for note in _same_file_notes(result):
        click.echo(note)
    if result.created_units:
        click.echo(f"Nye enheder: {', '.join(result.created_units)}.")
    if result.created_caseworkers:
        click.echo(
            f"Nye sagsbehandlere ({len(result.created_caseworkers)}): "
            f"{', '.join(result.created_caseworkers)}."
        )
    if result.ignored_columns:
        click.echo(f"Ignorerede kolonner (ikke gemt): {', '.join(result.ignored_columns)}.")
