"""Benchmark for tilsyn.stats: drawing and estimating at production scale.

Run: ``.venv/bin/python bench/bench_stats.py``
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from tilsyn.stats.estimation import estimate_proportion, stratum_codes
from tilsyn.stats.sampling import draw_stratified


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_draw() -> None:
    rng = np.random.default_rng(1)
    n_units, n_strata, lam = 1_000_000, 10_000, 2.0
    strata = rng.integers(0, n_strata, n_units)
    size = 1 + lam * rng.random(n_units)
    n_by = dict.fromkeys(range(n_strata), 2)
    keys = rng.random(n_units)
    t_draw = best_of(lambda: draw_stratified(strata, size, n_by, rng))
    t_sort = best_of(lambda: np.argsort(keys))
    sel, _pi = draw_stratified(strata, size, n_by, rng)
    print(f"(a) draw {n_units:,} cases in {n_strata:,} strata, n=2 per stratum")
    print(f"    selected {sel.size:,} cases")
    print(f"    draw_stratified:   {t_draw * 1000:8.1f} ms (best of 5)")
    print(f"    numpy.argsort(N):  {t_sort * 1000:8.1f} ms (best of 5)")
    print(f"    ratio draw/argsort: {t_draw / t_sort:6.2f}")


def bench_estimate(n_answers: int, label: str) -> float:
    rng = np.random.default_rng(2)
    n_points, n_domains = 50, 20
    n_strata = max(n_answers // 4, 1)
    strata = np.sort(rng.integers(0, n_strata, n_answers))
    codes = stratum_codes(strata)
    pi = rng.uniform(0.01, 0.5, n_answers)
    team = codes % n_domains
    answers = (rng.random((n_points, n_answers)) < 0.85).astype(float)
    not_applicable = rng.random((n_points, n_answers)) < 0.1
    domains = [team == k for k in range(n_domains)]

    def run() -> None:
        for j in range(n_points):
            y = answers[j]
            na = not_applicable[j]
            for dom in domains:
                estimate_proportion(y, pi, codes, dom & ~na)

    t = best_of(run, repeat=3)
    calls = n_points * n_domains
    print(f"(b) {label}: {calls} estimate_proportion calls on {n_answers:,} sampled cases")
    print(f"    total {t * 1000:8.1f} ms, {t / calls * 1e6:7.1f} µs per call (best of 3)")
    return t


def main() -> None:
    bench_draw()
    bench_estimate(100_000 // 50, "100,000 answers = 2,000 cases x 50 control points")
    bench_estimate(100_000, "stress, 100,000 answers per control point")


if __name__ == "__main__":
    main()
