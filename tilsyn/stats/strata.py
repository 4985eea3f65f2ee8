"""Stratum labels and their integer codes, shared by sampling and estimation.

A stratum label may be an integer, a string or any other hashable whose values are mutually
comparable, in particular a tuple such as ``(caseworker, scheme)``.  Both
:func:`tilsyn.stats.sampling.draw_stratified` and the estimators in
:mod:`tilsyn.stats.estimation` read labels through :func:`as_labels` and code them through
:func:`encode_strata`, so every label accepted by one is accepted by the other.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["StrataLike", "as_labels", "encode_strata"]

IntArray = npt.NDArray[np.int64]

#: What the sampling and estimation functions accept as stratum labels.
StrataLike = npt.ArrayLike | Sequence[Hashable]

#: Integer labels spanning fewer than ``DENSE_FACTOR · N + DENSE_SLACK`` values are used as
#: codes directly (offset by the minimum), without a sort.  The threshold decides how many
#: codes a stratified draw consumes random starts for, so it is part of the replayable
#: sampling algorithm: do not change it.
DENSE_FACTOR = 4
DENSE_SLACK = 1024


def _whole(label: Any) -> Any:
    """A label kept whole: lists (unhashable) become tuples."""
    return tuple(label) if isinstance(label, list) else label


def _object_array(items: Iterable[Any]) -> npt.NDArray[Any]:
    seq = [_whole(item) for item in items]
    out = np.empty(len(seq), dtype=object)
    for i, label in enumerate(seq):
        out[i] = label
    return out


def as_labels(strata: StrataLike) -> npt.NDArray[Any]:
    """Stratum labels as a one-dimensional array holding one whole label per unit.

    Parameters
    ----------
    strata : array_like or sequence of hashable
        One label per unit.  A sequence of tuples (e.g. ``(caseworker, scheme)``) keeps each
        tuple whole, with its elements' types; a two-dimensional array is read row by row,
        each row being one tuple label.

    Returns
    -------
    ndarray
        One-dimensional; ``dtype=object`` for tuple labels.

    Raises
    ------
    ValueError
        If ``strata`` is a scalar or has more than two dimensions.

    Examples
    --------
    >>> as_labels([("ann", "A"), ("bo", "B")]).tolist()
    [('ann', 'A'), ('bo', 'B')]
    """
    if isinstance(strata, np.ndarray):
        arr: npt.NDArray[Any] = strata
        if arr.ndim == 2:
            return _object_array(tuple(row) for row in arr.tolist())
    else:
        try:
            arr = np.asarray(strata)
        except ValueError:  # ragged, e.g. tuples of different lengths
            return _object_array(strata)  # type: ignore[arg-type]
        if arr.ndim == 2:
            # a sequence of tuples: rebuild from the original items so that their element
            # types survive (np.asarray turns (1, "a") into ("1", "a"))
            return _object_array(strata)  # type: ignore[arg-type]
    if arr.ndim != 1:
        raise ValueError(f"strata must be one-dimensional, got shape {arr.shape}")
    return arr


def encode_strata(
    strata: StrataLike, n_units: int | None = None, *, compact: bool = False
) -> tuple[IntArray, list[Any]]:
    """Integer codes for stratum labels.

    Parameters
    ----------
    strata : array_like or sequence of hashable
        One label per unit (see :func:`as_labels`).
    n_units : int, optional
        Required number of labels.
    compact : bool, default False
        If True the codes are ``0 … H−1`` for the ``H`` distinct labels in sorted order.
        If False, dense integer labels are offset by their minimum instead (no sort), so
        some codes may be unused.

    Returns
    -------
    codes : ndarray of int64
        Code of every unit.
    labels : list
        ``labels[k]`` is the label coded ``k`` (its length is the number of codes).

    Raises
    ------
    ValueError
        If the labels are not one label per unit, ``n_units`` does not match, or labels
        cannot be compared with each other.

    Examples
    --------
    >>> codes, labels = encode_strata([("b", 1), ("a", 2), ("b", 1)])
    >>> codes.tolist(), labels
    ([1, 0, 1], [('a', 2), ('b', 1)])
    """
    arr = as_labels(strata)
    if n_units is not None and arr.shape[0] != n_units:
        raise ValueError(f"strata must hold {n_units} labels, got {arr.shape[0]}")
    if arr.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), []
    if not compact and arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < DENSE_FACTOR * arr.shape[0] + DENSE_SLACK:
            return (arr - lo).astype(np.int64, copy=False), list(range(lo, hi + 1))
    try:
        uniq, inverse = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        raise ValueError("stratum labels must be mutually comparable") from exc
    return inverse.astype(np.int64).reshape(-1), uniq.tolist()
