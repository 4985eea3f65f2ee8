"""Small helpers shared by model modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (stored naive-UTC in SQLite, aware in PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)
