"""Results for the pages: cached period figures, series, the director's overview, round results.

Figures of a period are cached in the process, keyed by the period, the scheme filter, the
settings and a fingerprint of everything they rest on (the period's rounds, their current
draws, their reviews' count and last change, the catalogue's size), so a page renders from
the cache and a completed review recomputes only its own period.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.catalogue.models import ControlPoint
from tilsyn.org.models import Unit
from tilsyn.results.data import (
    SAMPLED_UNIT,
    join_sampled_cases,
    load,
    period_of_round,
    period_sort_key,
    previous_period,
    rounds_of_periods,
    year_earlier,
)
from tilsyn.results.estimates import (
    CONTROL_POINT,
    THEME,
    Options,
    ResultRow,
    attach_changes,
    estimate_period,
    needed_periods,
)
from tilsyn.results.quality_links import attach_census
from tilsyn.reviews.models import CaseReview, ReviewStatus
from tilsyn.rounds.models import Round
from tilsyn.sampling.models import DrawItem

_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 512
_LOCK = threading.Lock()


def options_from_config(scheme: str | None = None) -> Options:
    """Options from the settings ``RESULTS_MIN_N`` (default 10) and ``RESULTS_FDR_Q`` (0.10)."""
    cfg: Any = current_app.config if has_app_context() else {}
    return Options(
        scheme=scheme,
        q=float(cfg.get("RESULTS_FDR_Q", 0.10)),
        min_n=int(cfg.get("RESULTS_MIN_N", 10)),
    )


def _round_fingerprints(session: Session) -> dict[int, tuple[str, tuple[Any, ...]]]:
    """{round id: (period label, fingerprint)} for every round with a current draw."""
    reviews = (
        select(
            CaseReview.round_id.label("rid"),
            func.count(CaseReview.id).label("n"),
            func.max(CaseReview.updated_at).label("last"),
            func.count(CaseReview.completed_at).label("done"),
        )
        .group_by(CaseReview.round_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Round.id, Round.period_label, Round.draw_id, reviews.c.n, reviews.c.last, reviews.c.done
        )
        .outerjoin(reviews, reviews.c.rid == Round.id)
        .where(Round.draw_id.is_not(None))
    ).all()
    return {int(r[0]): (str(r[1]), (int(r[0]), r[2], r[3], str(r[4]), r[5])) for r in rows}


def period_rows(
    session: Session, periods: Iterable[str], opts: Options
) -> dict[str, list[ResultRow]]:
    """Figures of ``periods`` with their changes (vs the previous period and a year earlier),
    from the cache where the fingerprint still holds."""
    wanted = sorted(set(periods), key=period_sort_key)
    need = needed_periods(wanted)
    rounds = _round_fingerprints(session)
    catalogue = session.execute(
        select(func.count(ControlPoint.id), func.max(ControlPoint.id))
    ).one()
    by_period: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    round_ids: dict[str, list[int]] = defaultdict(list)
    for rid, (label, fp) in rounds.items():
        p = period_of_round(label, need)
        if p in need:
            by_period[p].append(fp)
            round_ids[p].append(rid)
    keys = {
        p: (p, opts, tuple(catalogue), tuple(sorted(by_period.get(p, []), key=repr))) for p in need
    }
    result: dict[str, list[ResultRow]] = {}
    with _LOCK:
        for p, key in keys.items():
            if key in _CACHE:
                _CACHE.move_to_end(key)
                result[p] = _CACHE[key]
    missing = [p for p in need if p not in result]
    if missing:
        ids = [rid for p in missing for rid in round_ids.get(p, [])]
        data = load(session, ids, set(missing) | need)
        fresh = {p: estimate_period(data, p, opts) for p in missing}
        for p, rows in fresh.items():
            attach_census(session, rows, round_ids.get(p, []), data, opts.scheme)
        with _LOCK:
            for p, rows in fresh.items():
                _CACHE[keys[p]] = rows
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        result.update(fresh)
    return {p: _with_changes(p, result, keys, opts) for p in wanted}


def _with_changes(
    period: str,
    result: dict[str, list[ResultRow]],
    keys: dict[str, tuple[Any, ...]],
    opts: Options,
) -> list[ResultRow]:
    """The period's rows with their changes, cached by the fingerprints of the period and the
    two it is compared with (copies: the cached figures are shared between requests)."""
    prev, year = previous_period(period), year_earlier(period)
    key = ("changes", keys[period], keys.get(prev or ""), keys.get(year or ""))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    rows = [replace(r) for r in result[period]]
    compared = {period: rows}
    for other in (prev, year):
        if other is not None and other in result:
            compared[other] = result[other]
    attach_changes(compared, [period], opts.q)
    with _LOCK:
        _CACHE[key] = rows
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return rows


def data_version(session: Session) -> str:
    """A fingerprint of everything the results rest on (rounds, their current draws and
    reviews, the catalogue, the units): rendered pages are cached under it."""
    rounds = sorted(fp for _label, fp in _round_fingerprints(session).values())
    catalogue = tuple(
        session.execute(select(func.count(ControlPoint.id), func.max(ControlPoint.id))).one()
    )
    units = tuple(session.execute(select(func.count(Unit.id), func.max(Unit.id))).one())
    text = repr((rounds, catalogue, units))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_html(key: tuple[Any, ...], render: Callable[[], str]) -> str:
    """A rendered fragment from the cache, else ``render()`` stored under ``key`` (which must
    hold :func:`data_version`, the locale and everything else the fragment depends on)."""
    full = ("html", *key)
    with _LOCK:
        hit = _CACHE.get(full)
        if hit is not None:
            _CACHE.move_to_end(full)
            return str(hit)
    html = render()
    with _LOCK:
        _CACHE[full] = html
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return html


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def known_periods(session: Session) -> list[str]:
    """Period labels of rounds with a draw, oldest first."""
    labels = session.scalars(
        select(Round.period_label).where(Round.draw_id.is_not(None)).distinct()
    ).all()
    return sorted({str(x) for x in labels}, key=period_sort_key)


# ------------------------------------------------------------------------------------ pages


@dataclass
class Series:
    """One figure followed over periods (same unit, level and key)."""

    unit: str | None
    unit_id: int | None
    level: str
    code: str
    theme: str
    theme_name: str
    is_core: bool
    points: list[ResultRow] = field(default_factory=list)

    @property
    def latest(self) -> ResultRow | None:
        return self.points[-1] if self.points else None

    @property
    def flagged(self) -> list[ResultRow]:
        return [
            r
            for r in self.points
            if (r.change is not None and r.change.flagged)
            or (r.change_year is not None and r.change_year.flagged)
        ]


@dataclass(frozen=True)
class Filters:
    unit_id: int | None = None  # None: organisation and every unit
    theme: str | None = None
    code: str | None = None
    scheme: str | None = None
    first: str | None = None
    last: str | None = None
    core_only: bool = False


def series_for(
    session: Session, periods: Sequence[str], filters: Filters, opts: Options
) -> list[Series]:
    """Series over ``periods`` matching ``filters``, in the fixed row order of the last
    period (the organisation first, units by name)."""
    rows = period_rows(session, periods, opts)
    out: dict[tuple[int | None, str, int], Series] = {}
    for p in periods:
        for r in rows.get(p, []):
            if filters.unit_id is not None and r.unit_id not in (None, filters.unit_id):
                continue
            if filters.theme and r.theme != filters.theme:
                continue
            if filters.code and (r.code != filters.code or r.level != CONTROL_POINT):
                continue
            if filters.core_only and not r.is_core:
                continue
            s = out.get(r.ident)
            if s is None:
                s = out[r.ident] = Series(
                    r.unit, r.unit_id, r.level, r.code, r.theme, r.theme_name, r.is_core
                )
            s.points.append(r)
    return sorted(
        out.values(),
        key=lambda s: (
            0 if s.unit is None else 1,
            s.unit or "",
            s.theme,
            0 if s.level == THEME else 1,
            s.code,
        ),
    )


def last_periods(session: Session, count: int, until: str | None = None) -> list[str]:
    known = known_periods(session)
    if until is not None:
        known = [p for p in known if period_sort_key(p) <= period_sort_key(until)]
    return known[-count:]


@dataclass
class UnitProgress:
    unit: str
    sampled: int
    completed: int
    drafts: int

    @property
    def share(self) -> float:
        return self.completed / self.sampled if self.sampled else math.nan


def round_progress_by_unit(session: Session, period: str) -> list[UnitProgress]:
    """Review progress of ``period``'s rounds per unit (counts only, no case-level data)."""
    ids = rounds_of_periods(session, [period])
    if not ids:
        return []
    rows = session.execute(
        join_sampled_cases(
            select(SAMPLED_UNIT, CaseReview.status, func.count(DrawItem.id)).select_from(Round)
        )
        .where(Round.id.in_(ids))
        .group_by(SAMPLED_UNIT, CaseReview.status)
    ).all()
    names = {int(i): str(n) for i, n in session.execute(select(Unit.id, Unit.name))}
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for unit_id, status, count in rows:
        name = names.get(int(unit_id), "") if unit_id is not None else ""
        acc[name][0] += int(count)
        acc[name][1] += int(count) if status == ReviewStatus.COMPLETED else 0
        acc[name][2] += int(count) if status == ReviewStatus.DRAFT else 0
    return [UnitProgress(u, *v) for u, v in sorted(acc.items())]


def round_results(session: Session, round_id: int, opts: Options) -> list[ResultRow]:
    """Figures of one round (its own design; the organisation row is the round's scope)."""
    rnd = session.get(Round, round_id)
    if rnd is None or rnd.draw_id is None:
        return []
    data = load(session, [round_id])
    rows = [r for r in estimate_period(data, rnd.period_label, opts) if r.unit_id is None]
    attach_census(session, rows, [round_id], data, opts.scheme)
    return rows


def unit_choices(session: Session, unit_ids: Collection[int] | None = None) -> list[Unit]:
    q = select(Unit).order_by(Unit.name)
    if unit_ids is not None:
        q = q.where(Unit.id.in_(sorted(unit_ids)))
    return list(session.scalars(q))
