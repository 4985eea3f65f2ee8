"""What the estimators of :mod:`tilsyn.stats` share (private to the package).

The array aliases, the check of a confidence level, the t and normal quantiles, and
:func:`fill_doc`, with which numpydoc paragraphs that several public functions share
(the same parameters, the same ``Raises``) are written once: a docstring names a
paragraph as ``%(name)s`` on a line of its own, and the paragraph is put there with that
line's indentation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "NAN",
    "FloatArray",
    "IntArray",
    "check_level",
    "fill_doc",
    "t_quantile",
    "z_quantile",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NAN = float("nan")

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def check_level(level: float) -> float:
    """The confidence level as a float, checked to lie strictly between 0 and 1.

    Parameters
    ----------
    level : float
        Confidence level.

    Returns
    -------
    float
        ``float(level)``.

    Raises
    ------
    ValueError
        If ``level`` is not in ``(0, 1)`` (NaN included).
    """
    lev = float(level)
    if not 0.0 < lev < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return lev


def t_quantile(p: float, df: float) -> float:
    """Quantile ``p`` of Student's t distribution on ``df`` degrees of freedom.

    Parameters
    ----------
    p : float
        Probability in ``(0, 1)``.
    df : float
        Degrees of freedom (positive, not necessarily whole).

    Returns
    -------
    float
        ``t`` with ``P(T_df ≤ t) = p``.
    """
    return float(special.stdtrit(df, p))


def z_quantile(p: float) -> float:
    """Quantile ``p`` of the standard normal distribution.

    Parameters
    ----------
    p : float
        Probability in ``(0, 1)``.

    Returns
    -------
    float
        ``z`` with ``Φ(z) = p``.
    """
    return float(special.ndtri(p))


def fill_doc(paragraphs: Mapping[str, str], *functions: Callable[..., object]) -> None:
    """Put shared paragraphs into the docstrings of ``functions``.

    Called after the functions are defined, not as a decorator: mutmut does not mutate
    decorated functions, and ``estimation.py`` is under mutation testing.

    Parameters
    ----------
    paragraphs : mapping of str to str
        Paragraph per name, written without indentation (its first line at column 0,
        continuation lines indented relative to it as they should read).
    *functions : callable
        Functions whose docstrings hold placeholders.  Every line holding only
        ``%(name)s`` is replaced by the paragraph ``name``, each of its lines indented as
        the placeholder was.  Other ``%`` signs are left alone.

    Raises
    ------
    KeyError
        For a placeholder that names no paragraph.
    """

    def indent(match: re.Match[str]) -> str:
        pad, name = match.group(1), match.group(2)
        lines = paragraphs[name].splitlines()
        return "\n".join(pad + line if line else line for line in lines)

    for func in functions:
        if func.__doc__:
            func.__doc__ = _PLACEHOLDER.sub(indent, func.__doc__)
