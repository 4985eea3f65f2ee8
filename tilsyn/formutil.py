"""Small helpers shared by forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Build WTForms select choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, str(label)) for value, label in pairs]
