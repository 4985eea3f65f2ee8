"""Server-rendered, accessible SVG charts (matplotlib's SVG backend; no JavaScript, no network).

Every chart is built from plain numbers (:class:`Line`, :class:`Dot`) and cached in the process
by a SHA-256 hash of those numbers and its texts, so a page renders from the cache. The SVG is
embedded inline in the page (no request, nothing the Content-Security-Policy has to allow):
``role="img"`` with a ``<title>`` and a ``<desc>`` that say what it shows; the same numbers
stand in a table beside it. Text stays text (``svg.fonttype = none``). Sparklines are a few
lines of SVG written here (a polyline), too small to need a plotting library.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from tilsyn.results.data import period_sort_key

_CACHE: OrderedDict[str, str] = OrderedDict()
_CACHE_SIZE = 2000
_LOCK = threading.Lock()
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "tilsyn",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
COLOURS = ("#1f4e79", "#b45309", "#0f766e", "#7c3aed", "#be123c", "#4b5563")
MUTED = "#9ca3af"


@dataclass(frozen=True)
class Line:
    """One series over periods: estimates and interval in [0, 1]; NaN where missing."""

    label: str
    periods: tuple[str, ...]
    estimate: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    few: tuple[bool, ...]
    flagged: tuple[bool, ...]


@dataclass(frozen=True)
class Dot:
    """One unit's estimate and interval for one period."""

    label: str
    estimate: float
    low: float
    high: float
    few: bool


def _key(kind: str, payload: object) -> str:
    text = json.dumps([kind, payload], sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cached(key: str) -> str | None:
    with _LOCK:
        svg = _CACHE.get(key)
        if svg is not None:
            _CACHE.move_to_end(key)
        return svg


def _store(key: str, svg: str) -> str:
    with _LOCK:
        _CACHE[key] = svg
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return svg


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_DROP = re.compile(r"<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*|<metadata>.*?</metadata>\s*", re.S)


_ID = re.compile(r'\sid="([^"]*)"')
_REF = re.compile(r'(?:url\(#|href="#)([^")]*)')


def _accessible(svg: str, key: str, title: str, desc: str) -> str:
    """Inline-ready SVG: no prolog, ``role="img"``, a title and a description; element ids
    that nothing refers to are dropped and the rest made unique to the chart (several charts
    share a page)."""
    svg = _DROP.sub("", svg)
    ident = f"c{key[:12]}"
    referenced = set(_REF.findall(svg))
    svg = _ID.sub(lambda m: f' id="{ident}-{m.group(1)}"' if m.group(1) in referenced else "", svg)
    svg = _REF.sub(lambda m: m.group(0).replace("#" + m.group(1), f"#{ident}-{m.group(1)}"), svg)
    match = _SVG_OPEN.search(svg)
    if match is None:  # pragma: no cover - matplotlib always writes an svg element
        return svg
    opening = match.group(0)
    opening = re.sub(r'\s(width|height)="[^"]*"', "", opening)
    opening = opening.replace(
        "<svg",
        f'<svg role="img" class="chart" aria-labelledby="{ident}-t {ident}-d"',
        1,
    )
    head = (
        f'{opening}<title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(desc)}</desc>'
    )
    return svg[: match.start()] + head + svg[match.end() :]


def _render(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def _pct(value: float, _pos: object = None) -> str:
    return f"{value * 100:.0f} %"


def _markers(
    ax: Axes,
    points: Sequence[tuple[float, float]],
    *,
    marker: str,
    size: float,
    colour: str,
    face: str,
) -> None:
    """Unconnected markers at the ``(x, y)`` points (nothing when there are none)."""
    if points:
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            linestyle="none",
            marker=marker,
            markersize=size,
            color=colour,
            markerfacecolor=face,
        )


def series_chart(lines: Sequence[Line], title: str, desc: str) -> str:
    """A line with an interval band per series over the periods (shares in %)."""
    key = _key("series", [asdict(x) for x in lines] + [title, desc])
    hit = _cached(key)
    if hit is not None:
        return hit
    periods = sorted({p for line in lines for p in line.periods}, key=_period_order)
    xs = {p: i for i, p in enumerate(periods)}
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(7.2, 2.8))
        fig.subplots_adjust(left=0.08, right=0.78 if len(lines) > 1 else 0.98, bottom=0.12)
        ax = fig.add_subplot()
        for n, line in enumerate(lines):
            colour = COLOURS[n % len(COLOURS)]
            x = [xs[p] for p in line.periods]
            ax.fill_between(
                x, line.low, line.high, color=colour, alpha=0.15, linewidth=0, label=None
            )
            ax.plot(
                x,
                line.estimate,
                color=colour,
                linewidth=1.8,
                marker="o",
                markersize=4,
                label=line.label,
            )
            few = [(xi, yi) for xi, yi, f in zip(x, line.estimate, line.few, strict=True) if f]
            _markers(ax, few, marker="o", size=5, colour=MUTED, face="white")
            flagged = [
                (xi, yi) for xi, yi, f in zip(x, line.estimate, line.flagged, strict=True) if f
            ]
            _markers(ax, flagged, marker="D", size=8, colour=colour, face="none")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(FuncFormatter(_pct))
        ax.yaxis.set_major_locator(MultipleLocator(0.25))
        ax.set_xticks(range(len(periods)), periods)
        ax.grid(axis="y", color="#e5e7eb", linewidth=0.6)
        if len(lines) > 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        svg = _render(fig)
    return _store(key, _accessible(svg, key, title, desc))


def dot_chart(dots: Sequence[Dot], title: str, desc: str) -> str:
    """Dots with interval whiskers, one row per unit in the given (fixed) order."""
    key = _key("dots", [asdict(x) for x in dots] + [title, desc])
    hit = _cached(key)
    if hit is not None:
        return hit
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(7.2, 0.45 * len(dots) + 0.8))
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.22, right=0.97, bottom=0.8 / (0.45 * len(dots) + 0.8) * 0.6)
        ys = [len(dots) - 1 - i for i in range(len(dots))]
        whiskers = [
            (d, y)
            for d, y in zip(dots, ys, strict=True)
            if not (math.isnan(d.low) or math.isnan(d.high))
        ]
        if whiskers:
            ax.hlines(
                [y for _d, y in whiskers],
                [d.low for d, _y in whiskers],
                [d.high for d, _y in whiskers],
                colors=[MUTED if d.few else COLOURS[0] for d, _y in whiskers],
                linewidth=2,
            )
        for few in (False, True):
            pts = [(d.estimate, y) for d, y in zip(dots, ys, strict=True) if d.few == few]
            colour = MUTED if few else COLOURS[0]
            _markers(ax, pts, marker="o", size=6, colour=colour, face="white" if few else colour)
        ax.set_yticks(range(len(dots)), [d.label for d in reversed(dots)])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(_pct))
        ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
        svg = _render(fig)
    return _store(key, _accessible(svg, key, title, desc))


def sparkline(values: Sequence[float], title: str, width: int = 96, height: int = 24) -> str:
    """A tiny line of the last periods' estimates (0–100 % from bottom to top)."""
    key = _key("spark", [list(values), title, width, height])
    hit = _cached(key)
    if hit is not None:
        return hit
    n = len(values)
    points = []
    for i, v in enumerate(values):
        if math.isnan(v):
            continue
        x = 2 + (width - 4) * (i / (n - 1) if n > 1 else 0.5)
        y = 2 + (height - 4) * (1 - v)
        points.append(f"{x:.1f},{y:.1f}")
    last = points[-1].split(",") if points else None
    ident = f"s{key[:12]}"
    parts = [
        f'<svg role="img" class="sparkline" aria-labelledby="{ident}-t" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{ident}-t">{escape(title)}</title>',
        f'<line x1="0" y1="{height - 2}" x2="{width}" y2="{height - 2}" stroke="#e5e7eb"/>',
    ]
    if points:
        parts.append(
            f'<polyline fill="none" stroke="{COLOURS[0]}" stroke-width="1.5" '
            f'points="{" ".join(points)}"/>'
        )
    if last is not None:
        parts.append(f'<circle cx="{last[0]}" cy="{last[1]}" r="2" fill="{COLOURS[0]}"/>')
    parts.append("</svg>")
    return _store(key, "".join(parts))


def _period_order(label: str) -> tuple[int, int]:
    year, start, _length = period_sort_key(label)
    return year, start
