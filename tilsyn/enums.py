"""Stored code values with their display labels, declared once.

A :class:`LabelledEnum` member is declared with its stored value and its (lazy) label::

    class ActionStatus(LabelledEnum):
        OPEN = "open", _l("Åben")
        DONE = "done", _l("Udført")

``ActionStatus.OPEN`` is the string ``"open"`` (``str()``, ``.value``, comparisons and dict keys
all behave as for a plain :class:`~enum.StrEnum`), ``ActionStatus.OPEN.label`` is the label,
:func:`one_of` writes the CHECK constraint that keeps a column to the enum's values, and a model
shows a column's label with :class:`LabelOf`::

    status_label = LabelOf(ActionStatus, "status")
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self, overload


class LabelledEnum(StrEnum):
    """A :class:`~enum.StrEnum` whose members also carry a display label (a lazy string)."""

    _label: Any

    def __new__(cls, value: str, label: Any = None) -> Self:
        # Runs once per declared member. ``Cls("open")`` later is Enum's lookup by value, which
        # never comes here: the default only lets the type checker accept that call.
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> Any:
        """The member's label (lazy: ``str()`` it to render it in the current UI language)."""
        return self._label

    @classmethod
    def labels(cls) -> dict[Self, Any]:
        """Member -> label, in declaration order (the keys compare equal to the stored values)."""
        return {member: member.label for member in cls}

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The rendered label of a stored value; an unknown value as it is (``None``: ``""``)."""
        if value is None:
            return ""
        try:
            return str(cls(value).label)
        except ValueError:
            return value


def one_of(column: str, enum: type[StrEnum]) -> str:
    """The CHECK constraint text ``column IN ('a', 'b', ...)`` over the enum's stored values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class LabelOf:
    """A read-only attribute: the rendered label of the value stored in another attribute.

    ``status_label = LabelOf(RoundStatus, "status")`` on a model makes ``obj.status_label`` the
    label of ``obj.status`` in the current UI language (:meth:`LabelledEnum.label_of`).
    """

    def __init__(self, enum: type[LabelledEnum], attribute: str) -> None:
        self.enum = enum
        self.attribute = attribute

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> str: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Self | str:
        if obj is None:
            return self
        return self.enum.label_of(getattr(obj, self.attribute))
