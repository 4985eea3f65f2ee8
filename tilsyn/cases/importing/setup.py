"""How an import is set up: the column mapping the user picked, and the configured limits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from tilsyn.cases import mapping as mappings
from tilsyn.cases.importing.pipeline import MAX_AS_OF_AGE_DAYS
from tilsyn.cases.importing.records import DEFAULT_MAX_ERRORS, Limits
from tilsyn.cases.importing.result import ImportSetupError
from tilsyn.cases.importing.values import MAX_FIELD_CHARS
from tilsyn.settings import local_today


def import_mapping(name: str | None, directory: str | Path | None) -> mappings.ColumnMapping:
    """The named column mapping (default: the standard one), or :class:`ImportSetupError`."""
    wanted = name or mappings.DEFAULT_MAPPING
    try:
        return mappings.load_mapping(wanted, directory)
    except (OSError, ValueError, KeyError) as exc:
        raise ImportSetupError(
            _("Kolonneopsætningen «%(name)s» findes ikke eller er ugyldig.", name=wanted)
        ) from exc


def mapping_choices(directory: str | Path | None) -> list[tuple[str, str]]:
    """(name, label) of every available mapping, the default first."""
    try:
        found = mappings.available_mappings(directory)
    except mappings.MappingError:
        # One broken file must not hide the others: load them one by one.
        found = []
        for path in sorted(Path(directory or mappings.DEFAULT_DIRECTORY).glob("*.toml")):
            try:
                found.append(mappings.load_mapping(path.stem, directory))
            except mappings.MappingError:
                continue
    out = [(m.name, m.label) for m in found]
    out.sort(key=lambda pair: (pair[0] != mappings.DEFAULT_MAPPING, pair[1].lower()))
    return out


def read_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments :func:`~.pipeline.import_file` and :func:`~.pipeline.analyse_file`
    take from the app's configuration (``IMPORT_*``, ``MAX_CONTENT_LENGTH``, the time zone's
    today): one CSV field may be as long as an upload may be."""
    defaults = Limits()
    unpacked_mb = config.get("IMPORT_MAX_UNPACKED_MB")
    max_age = config.get("IMPORT_MAX_AS_OF_AGE_DAYS")
    return {
        "today": local_today(config),
        "max_as_of_age_days": int(max_age) if max_age is not None else MAX_AS_OF_AGE_DAYS,
        "max_field_chars": int(config.get("MAX_CONTENT_LENGTH") or MAX_FIELD_CHARS),
        "max_errors": int(config.get("IMPORT_MAX_ERRORS") or DEFAULT_MAX_ERRORS),
        "limits": Limits(
            max_rows=int(config.get("IMPORT_MAX_ROWS") or defaults.max_rows),
            max_columns=int(config.get("IMPORT_MAX_COLUMNS") or defaults.max_columns),
            max_unpacked_bytes=(
                int(unpacked_mb) * 1024 * 1024 if unpacked_mb else defaults.max_unpacked_bytes
            ),
        ),
    }
