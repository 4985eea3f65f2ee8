"""Column mappings: which header names in a case-system export carry which canonical field.

A mapping lives in ``config/mappings/<name>.toml``::

    label = "Standard sagsudtræk"

    [columns]
    case_ref = ["Sags-ID", "Sagsnummer"]
    caseworker = ["Sagsbehandler"]
    ...

Header names are matched after stripping, folding internal whitespace (including non-breaking
spaces) and ignoring case, so ``" sags-id "`` matches ``"Sags-ID"``. Pure code: no Flask, no
database.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tilsyn.cases.fields import CANONICAL_FIELDS, FIELD_LABELS, REQUIRED_FIELDS
from tilsyn.errors import ServiceError

#: Default mapping name (``config/mappings/standard.toml``).
DEFAULT_MAPPING = "standard"

#: Default directory holding mapping files: ``<repo>/config/mappings``.
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "config" / "mappings"

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_BOM_REMNANTS = ("\ufeff", "ï»¿", "\u200b")


class MappingError(ServiceError):
    """A mapping file is missing or invalid (a configuration error, not a data error)."""


def normalize_header(text: str) -> str:
    """Normalise a header for matching: drop BOM remnants, fold whitespace, ignore case."""
    for remnant in _BOM_REMNANTS:
        text = text.replace(remnant, "")
    return " ".join(text.split()).casefold()


def clean_header(text: str) -> str:
    """A header as shown to users: BOM remnants dropped, whitespace folded, case kept."""
    for remnant in _BOM_REMNANTS:
        text = text.replace(remnant, "")
    return " ".join(text.split())


@dataclass(frozen=True)
class HeaderMatch:
    """The result of matching a file's header row against a mapping.

    ``fields`` maps canonical field -> 0-based column index. ``ignored`` holds the (cleaned)
    headers of unmapped, non-empty columns; ``missing`` the required fields not found;
    ``conflicts`` pairs of (field, [cleaned headers]) where more than one column matched.
    """

    fields: dict[str, int]
    ignored: list[str]
    missing: list[str]
    conflicts: list[tuple[str, list[str]]]


@dataclass(frozen=True)
class ColumnMapping:
    """How one export format names its columns.

    ``columns`` maps each canonical field to the header names accepted for it (first one is
    the preferred name, shown in messages).
    """

    name: str
    label: str
    columns: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(CANONICAL_FIELDS))
        if unknown:
            raise MappingError(f"Mapping {self.name!r}: unknown field(s) {', '.join(unknown)}")
        missing = [f for f in REQUIRED_FIELDS if not self.columns.get(f)]
        if missing:
            raise MappingError(f"Mapping {self.name!r}: required field(s) {', '.join(missing)}")
        seen: dict[str, str] = {}
        for fld, headers in self.columns.items():
            if isinstance(headers, str) or not all(isinstance(h, str) for h in headers):
                raise MappingError(f"Mapping {self.name!r}: {fld} must be a list of strings")
            for header in headers:
                key = normalize_header(header)
                if not key:
                    raise MappingError(f"Mapping {self.name!r}: empty header name for {fld}")
                if key in seen and seen[key] != fld:
                    raise MappingError(
                        f"Mapping {self.name!r}: header {header!r} used for both "
                        f"{seen[key]} and {fld}"
                    )
                seen[key] = fld

    @property
    def caseworker_name(self) -> str | None:
        """The preferred header of the optional caseworker-name column, if mapped."""
        headers = self.columns.get("caseworker_name")
        return headers[0] if headers else None

    def header_for(self, fld: str) -> str:
        """The preferred header name for a canonical field (its Danish label if unmapped)."""
        headers = self.columns.get(fld)
        return headers[0] if headers else FIELD_LABELS.get(fld, fld)

    def lookup(self) -> dict[str, str]:
        """Normalised header -> canonical field."""
        return {
            normalize_header(header): fld
            for fld, headers in self.columns.items()
            for header in headers
        }

    def match(self, headers: Sequence[str]) -> HeaderMatch:
        """Match a header row (as read from a file) against this mapping."""
        lookup = self.lookup()
        found: dict[str, list[int]] = {}
        ignored: list[str] = []
        for index, header in enumerate(headers):
            key = normalize_header(header)
            if not key:
                continue
            fld = lookup.get(key)
            if fld is None:
                ignored.append(clean_header(header))
            else:
                found.setdefault(fld, []).append(index)
        conflicts = [
            (fld, [clean_header(headers[i]) for i in indices])
            for fld, indices in found.items()
            if len(indices) > 1
        ]
        return HeaderMatch(
            fields={fld: indices[0] for fld, indices in found.items()},
            ignored=ignored,
            missing=[f for f in REQUIRED_FIELDS if f not in found],
            conflicts=conflicts,
        )


def _directory(directory: str | Path | None) -> Path:
    return DEFAULT_DIRECTORY if directory is None else Path(directory)


def _from_file(path: Path) -> ColumnMapping:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"Mapping file {path}: {exc}") from exc
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise MappingError(f"Mapping file {path}: missing [columns] table")
    normalised: dict[str, list[str]] = {}
    for fld, headers in columns.items():
        if isinstance(headers, str):
            headers = [headers]
        if not isinstance(headers, list):
            raise MappingError(f"Mapping file {path}: {fld} must be a list of header names")
        normalised[fld] = list(headers)
    name = path.stem  # the file name is the mapping's identity
    label = data.get("label", name)
    if not isinstance(label, str):
        raise MappingError(f"Mapping file {path}: label must be a string")
    return ColumnMapping(name=name, label=label, columns=normalised)


def load_mapping(name: str = DEFAULT_MAPPING, directory: str | Path | None = None) -> ColumnMapping:
    """Load ``<directory>/<name>.toml``; raises :class:`MappingError` if absent or invalid."""
    if not _NAME_RE.match(name):
        raise MappingError(f"Invalid mapping name {name!r}")
    path = _directory(directory) / f"{name}.toml"
    if not path.is_file():
        raise MappingError(f"No mapping named {name!r} in {path.parent}")
    return _from_file(path)


def available_mappings(directory: str | Path | None = None) -> list[ColumnMapping]:
    """All mappings in the directory, the default first, then by name."""
    base = _directory(directory)
    paths: Iterable[Path] = sorted(base.glob("*.toml")) if base.is_dir() else []
    mappings = [_from_file(p) for p in paths if _NAME_RE.match(p.stem)]
    mappings.sort(key=lambda m: (m.name != DEFAULT_MAPPING, m.name))
    return mappings
