"""The chart helpers of tilsyn/results/charts.py."""

from __future__ import annotations

from matplotlib.figure import Figure

from tilsyn.results.charts import _markers


def test_markers_draw_unconnected_points_and_nothing_for_none() -> None:
    ax = Figure().add_subplot()
    _markers(ax, [], marker="o", size=5, colour="#000000", face="white")
    assert len(ax.lines) == 0
    _markers(ax, [(0.0, 0.5), (2.0, 0.25)], marker="D", size=8, colour="#1f4e79", face="none")
    (line,) = ax.lines
    assert list(line.get_xdata()) == [0.0, 2.0] and list(line.get_ydata()) == [0.5, 0.25]
    assert line.get_linestyle() == "None" and line.get_marker() == "D"
    assert line.get_markersize() == 8 and line.get_color() == "#1f4e79"
    assert line.get_markerfacecolor() == "none"
