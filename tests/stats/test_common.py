"""The helpers tilsyn.stats shares between its modules (tilsyn/stats/_common.py)."""

from __future__ import annotations

import math
import re

import pytest
from scipy import stats as sps

from tilsyn.stats import agreement, estimation
from tilsyn.stats._common import check_level, fill_doc, t_quantile, z_quantile


@pytest.mark.parametrize("level", [0.5, 0.95, 1e-9, 1 - 1e-9])
def test_check_level_accepts_the_open_unit_interval(level: float) -> None:
    assert check_level(level) == level


@pytest.mark.parametrize("level", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_check_level_rejects_the_rest(level: float) -> None:
    with pytest.raises(ValueError, match=r"^level must lie strictly between 0 and 1, got "):
        check_level(level)


def test_quantiles_match_scipy() -> None:
    assert t_quantile(0.975, 7) == pytest.approx(sps.t.ppf(0.975, 7), rel=1e-12)
    assert t_quantile(0.025, 3.5) == pytest.approx(sps.t.ppf(0.025, 3.5), rel=1e-12)
    assert z_quantile(0.975) == pytest.approx(sps.norm.ppf(0.975), rel=1e-12)


def test_fill_doc_indents_the_paragraph_as_its_placeholder() -> None:
    def f() -> None:
        """Summary, 100 % plain.

        Parameters
        ----------
        %(x)s

        %(r)s
        """

    fill_doc({"x": "x : int\n    The x.\n\n    More.", "r": "Raises\n------\nKeyError"}, f)
    assert f.__doc__ == (
        "Summary, 100 % plain.\n\n        Parameters\n        ----------\n"
        "        x : int\n            The x.\n\n            More.\n\n"
        "        Raises\n        ------\n        KeyError\n        "
    )


def test_fill_doc_leaves_inline_text_and_rejects_unknown_names() -> None:
    def g() -> None:
        """Mentions %(x)s inline, which stays."""

    def h() -> None:
        """Doc.

        %(missing)s
        """

    fill_doc({"x": "X"}, g)
    assert g.__doc__ == "Mentions %(x)s inline, which stays."
    with pytest.raises(KeyError, match="missing"):
        fill_doc({}, h)


@pytest.mark.parametrize("module", [agreement, estimation])
def test_public_docstrings_have_no_placeholders_left(module: object) -> None:
    for name in module.__all__:  # type: ignore[attr-defined]
        doc = getattr(module, name).__doc__
        assert doc and not re.search(r"%\(\w+\)s", doc), name
    # The shared paragraphs arrive with the indentation of their section.
    assert "\n    a, b : sequence of hashable\n        First and second" in (
        agreement.cohen_kappa.__doc__ or ""
    )
    assert "\n    level : float, default 0.95\n        Confidence level.\n" in (
        estimation.estimate_mean.__doc__ or ""
    )
