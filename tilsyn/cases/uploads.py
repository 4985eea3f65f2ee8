"""Uploads kept on the server between the preview and the confirmation (never in the session).

Each upload lives in ``<root>/<random token>/``: the file, its ``meta.json`` (name, mapping,
as-of date, owner, what the analysis found) and, once refused, only its error report (the file
itself is deleted at once). Stale uploads are removed by the next upload or analysis.
"""

from __future__ import annotations

import errno
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from tilsyn.cases.importing.errors import RowError
from tilsyn.cases.importing.pipeline import analyse_file
from tilsyn.cases.importing.result import (
    EarlierSnapshot,
    ImportResult,
    ImportSetupError,
    UnknownCaseworker,
    clean_filename,
)
from tilsyn.cases.mapping import ColumnMapping
from tilsyn.tabular import Cell

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
UPLOAD_FILE = "upload.bin"
META_FILE = "meta.json"
#: The full error report of a refused upload (JSON lines: row, column, reason, value).
ERRORS_FILE = "errors.jsonl"
#: Uploads not confirmed or aborted within this time are removed by the next upload or analysis.
UPLOAD_MAX_AGE_SECONDS = 24 * 3600
#: Errors shown on the preview page (all of them are in the downloadable report).
DISPLAY_ERRORS = 1000


@dataclass(frozen=True)
class PendingUpload:
    """An upload between preview and confirmation. ``refused``: the analysis refused the file,
    which is deleted; only its report is kept (until aborted or stale)."""

    token: str
    path: Path
    filename: str
    mapping_name: str
    as_of: date
    user_id: int
    refused: bool = False


def store_upload(
    root: Path,
    stream: IO[bytes],
    *,
    filename: str | None,
    mapping_name: str,
    as_of: date,
    user_id: int,
) -> PendingUpload:
    """Save an uploaded file under ``root/<random token>/`` (server-side, never in the session).

    A disk that is full (or any other write error) leaves nothing behind: the half-written
    directory is removed and :class:`ImportSetupError` says so in Danish.
    """
    remove_stale_uploads(root)
    token = secrets.token_urlsafe(32)
    directory = root / token
    try:
        directory.mkdir(parents=True, mode=0o700)
        path = directory / UPLOAD_FILE
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        upload = PendingUpload(token, path, clean_filename(filename), mapping_name, as_of, user_id)
        _write_meta(
            upload,
            {
                "filename": upload.filename,
                "mapping": mapping_name,
                "as_of": as_of.isoformat(),
                "user_id": user_id,
            },
        )
    except OSError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ImportSetupError(
                _(
                    "Der er ikke plads til filen på serveren (disken er fuld). Intet er gemt; "
                    "bed en administrator om at frigøre plads, og prøv igen."
                )
            ) from exc
        raise ImportSetupError(
            _("Filen kunne ikke gemmes på serveren. Intet er gemt; prøv igen.")
        ) from exc
    return upload


def _read_meta(directory: Path) -> dict[str, Any]:
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("meta.json is not an object")
    return meta


def _write_meta(upload: PendingUpload, meta: dict[str, Any]) -> None:
    (upload.path.parent / META_FILE).write_text(json.dumps(meta), encoding="utf-8")


def analyse_upload(
    session: Session,
    root: Path,
    upload: PendingUpload,
    mapping: ColumnMapping,
    **options: Any,
) -> ImportResult:
    """Analyse a pending upload (see :func:`analyse_file`, which takes ``options``) and remember
    what the confirmation needs. Stale uploads are removed first. A refused file is deleted at
    once: only its report is kept (see :func:`keep_report_only`)."""
    remove_stale_uploads(root)
    result = analyse_file(
        session, upload.path, mapping, filename=upload.filename, as_of=upload.as_of, **options
    )
    remember_analysis(upload, result)
    if not result.ok:
        keep_report_only(upload, result)
    return result


def remember_analysis(upload: PendingUpload, result: ImportResult) -> None:
    """Keep what the confirmation step needs (unknown caseworkers, teams) beside the upload."""
    meta = _read_meta(upload.path.parent)
    meta["errors"] = result.error_count
    meta["file_teams"] = result.file_teams
    meta["unknown"] = [
        [u.initials, u.name, u.team, u.first_row, u.cases] for u in result.unknown_caseworkers
    ]
    _write_meta(upload, meta)


def keep_report_only(upload: PendingUpload, result: ImportResult) -> PendingUpload:
    """Delete a refused upload's file at once and keep only its report (never a CPR value:
    errors carry no CPR-like values, and ignored columns with CPR-like names are left out)."""
    upload.path.unlink(missing_ok=True)
    directory = upload.path.parent
    with (directory / ERRORS_FILE).open("w", encoding="utf-8") as out:
        for error in result.reported_errors():
            out.write(json.dumps(error.to_json()) + "\n")
    meta = _read_meta(directory)
    meta.update(
        {
            "refused": True,
            "errors": result.error_count,
            "report": {
                "sha256": result.sha256,
                "file_kind": result.file_kind,
                "encoding": result.encoding,
                "rows": result.rows,
                "rows_in_file": result.rows_in_file,
                "ignored_columns": result.ignored_columns,
                "cpr_found": result.cpr_found,
                "same_file": [[s.id, s.imported_at.isoformat()] for s in result.same_file],
            },
        }
    )
    _write_meta(upload, meta)
    return replace(upload, refused=True)


def _stored_errors(upload: PendingUpload) -> Iterator[RowError]:
    try:
        with (upload.path.parent / ERRORS_FILE).open(encoding="utf-8") as fh:
            for line in fh:
                yield RowError.from_json(json.loads(line))
    except FileNotFoundError:
        return


def stored_report(upload: PendingUpload, limit: int = DISPLAY_ERRORS) -> ImportResult:
    """The kept report of a refused upload, with its first ``limit`` errors."""
    meta = _read_meta(upload.path.parent)
    report = meta.get("report") or {}
    result = ImportResult(upload.filename, str(report.get("sha256", "")), upload.mapping_name)
    result.file_kind = str(report.get("file_kind") or "")
    result.encoding = report.get("encoding")
    result.rows = int(report.get("rows", 0))
    result.rows_in_file = int(report.get("rows_in_file", 0))
    result.ignored_columns = [str(c) for c in report.get("ignored_columns", [])]
    result.cpr_found = bool(report.get("cpr_found", False))
    result.same_file = [
        EarlierSnapshot(int(sid), datetime.fromisoformat(at))
        for sid, at in report.get("same_file", [])
    ]
    result.unknown_caseworkers = remembered_unknown(upload)[0]
    errors = _stored_errors(upload)
    result.errors = [error for _, error in zip(range(limit), errors, strict=False)]
    total = int(meta.get("errors", len(result.errors)))
    result.errors_omitted = max(total - len(result.errors), 0)
    return result


def error_report(upload: PendingUpload) -> tuple[list[str], list[list[Cell]]]:
    """The whole error report of a refused upload, in the reader's language, as plain rows
    (header, rows): row, column, value (where safe to show; never a CPR value) and reason. Built
    in full before a response is returned, so a download streams from plain data."""
    header = [_("Række"), _("Kolonne"), _("Værdi"), _("Fejl")]
    whole_file = _("Hele filen")
    rows: list[list[Cell]] = []
    for stored in _stored_errors(upload):
        error = stored.shown()
        rows.append([error.row or whole_file, error.column, error.value, error.reason])
    return header, rows


def remembered_unknown(upload: PendingUpload) -> tuple[list[UnknownCaseworker], list[str]]:
    """Unknown caseworkers and file teams saved by :func:`remember_analysis`."""
    try:
        meta = _read_meta(upload.path.parent)
        unknown = [
            UnknownCaseworker(str(i), str(n), None if t is None else str(t), int(r), int(c))
            for i, n, t, r, c in meta.get("unknown", [])
        ]
        return unknown, [str(t) for t in meta.get("file_teams", [])]
    except (OSError, ValueError, TypeError):
        return [], []


def load_upload(root: Path, token: str, user_id: int) -> PendingUpload | None:
    """The pending upload ``token`` of ``user_id`` (None if unknown, expired or someone else's)."""
    if not TOKEN_RE.match(token):
        return None
    directory = root / token
    try:
        meta = _read_meta(directory)
        upload = PendingUpload(
            token,
            directory / UPLOAD_FILE,
            str(meta["filename"]),
            str(meta["mapping"]),
            date.fromisoformat(meta["as_of"]),
            int(meta["user_id"]),
            bool(meta.get("refused", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if upload.user_id != user_id:
        return None
    if not upload.refused and not upload.path.is_file():
        return None
    return upload


def discard_upload(root: Path, token: str) -> None:
    if TOKEN_RE.match(token):
        shutil.rmtree(root / token, ignore_errors=True)


def remove_stale_uploads(root: Path, now: float | None = None) -> None:
    """Remove uploads (and kept reports) older than :data:`UPLOAD_MAX_AGE_SECONDS`."""
    if not root.is_dir():
        return
    limit = (time.time() if now is None else now) - UPLOAD_MAX_AGE_SECONDS
    for entry in root.iterdir():
        try:
            if entry.is_dir() and TOKEN_RE.match(entry.name) and entry.stat().st_mtime < limit:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue
