"""Small helpers shared by model modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

K = TypeVar("K")
C = TypeVar("C")


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (stored naive-UTC in SQLite, aware in PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def sync_children(
    children: list[C], keys: Iterable[K], key_of: Callable[[C], K], make: Callable[[K], C]
) -> dict[K, C]:
    """Make a one-to-many collection hold one child per key, in place.

    Children whose key is not in ``keys`` are removed, a missing one is made with ``make`` and
    appended; returns the child per key (in the order of ``keys``).
    """
    wanted = list(keys)
    existing = {key_of(c): c for c in children}
    for key, stale in existing.items():
        if key not in wanted:
            children.remove(stale)
    out: dict[K, C] = {}
    for key in wanted:
        child = existing.get(key)
        if child is None:
            child = make(key)
            children.append(child)
        out[key] = child
    return out
