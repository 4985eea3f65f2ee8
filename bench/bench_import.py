"""Benchmark the case import: 200,000 rows through the service vs. a bare bulk insert.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_import.py [--rows N] [--runs R]``).

1. Generate an export with the same columns as ``sagsudtraek-eksempel.csv`` (UTF-8 with BOM,
   ``;``, ``dd-mm-yyyy``, decimal comma) in a temporary directory.
2. Import it into a fresh SQLite *file* database through
   ``tilsyn.cases.importing.pipeline.import_file`` (the same call the CLI and the web make;
   caseworkers and units are created), committing once.
3. Copy the ``cases`` table's schema (same columns, constraints and indexes) to ``cases_bare`` in
   the same database and insert the very same rows with one DBAPI ``executemany`` in one
   transaction. The ratio import / bare is the price of reading, parsing, validating, mapping
   and the duplicate and CPR checks. Steps 2 and 3 are repeated ``--runs`` times (fresh
   databases); every run is printed and the verdicts use the median, because the machine may
   be shared (the load average is printed too).
4. Memory: separate runs under ``tracemalloc`` (which slows Python down, hence not timed)
   report the peak of memory *allocated by Python* while importing a quarter of the file and
   the whole file. Batches, lookups and caches are bounded and duplicates are found in the
   database, so the two peaks should be about equal ("flat": the whole file's peak at most 20 %
   above the quarter's). The resident set before and the process peak after the first timed
   run are printed as well (an upper bound that includes SQLite's page cache).

Each goal ends in one verdict line: ``GOAL ... : MET`` or ``GOAL ... : NOT MET``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("TILSYN_ENV", "bench")

from sqlalchemy import text

from tilsyn import create_app
from tilsyn.cases.importing import pipeline, setup
from tilsyn.cases.importing import result as import_result
from tilsyn.extensions import db

HEADER = [
    "Sags-ID",
    "Sagsbehandler",
    "Sagsbehandler navn",
    "Team",
    "Ordning",
    "Sagsstart",
    "Seneste samtale",
    "Samtaler seneste 12 mdr",
    "Frist revurdering",
    "Sagsbehandlerskift 12 mdr",
    "Jobmål registreret",
    "Cv på Jobnet",
    "Ugentlige timer",
]
TEAMS = {
    "Sygedagpenge Nord": "Sygedagpenge",
    "Sygedagpenge Syd": "Sygedagpenge",
    "Jobafklaring": "Jobafklaringsforløb",
    "Ressourceforløb": "Ressourceforløb",
    "Fleksjob": "Fleksjob",
}
EXTRA_SCHEMES = ["Ledighedsydelse", "Kontanthjælp"]
AS_OF = date(2026, 10, 1)


def generate(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    staff = []
    for index in range(60):
        team = list(TEAMS)[index % len(TEAMS)]
        staff.append((f"B{index:03d}", f"Sagsbehandler {index}", team))
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            initials, name, team = staff[rng.randrange(len(staff))]
            scheme = TEAMS[team] if rng.random() < 0.85 else rng.choice(EXTRA_SCHEMES)
            start = AS_OF - timedelta(days=rng.randrange(1, 900))
            last = start + timedelta(days=rng.randrange(0, (AS_OF - start).days + 1))
            due = "" if rng.random() < 0.3 else (AS_OF + timedelta(days=rng.randrange(-60, 400)))
            hours = "" if rng.random() < 0.85 else f"{rng.randrange(5, 37)},{rng.choice('05')}"
            writer.writerow(
                [
                    f"S-{start.year}-{n:06d}",
                    initials,
                    name,
                    team,
                    scheme,
                    start.strftime("%d-%m-%Y"),
                    last.strftime("%d-%m-%Y"),
                    rng.randrange(0, 13),
                    due if isinstance(due, str) else due.strftime("%d-%m-%Y"),
                    rng.choice((0, 0, 0, 1, 1, 2, 3)),
                    rng.choice(("Ja", "Nej")),
                    rng.choice(("Ja", "Nej")),
                    hours,
                ]
            )


def current_rss_kib() -> int:
    """Current resident set size (Linux /proc); falls back to the peak elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def fresh_app(directory: Path, name: str):  # type: ignore[no-untyped-def]
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / name}",
            "SECRET_KEY": "bench",
            "TESTING": True,
        }
    )
    with app.app_context():
        db.create_all()
    return app


def run_import(app, path: Path) -> import_result.ImportResult:  # type: ignore[no-untyped-def]
    with app.app_context():
        mapping = setup.import_mapping(None, app.config["MAPPINGS_DIR"])
        result = pipeline.import_file(
            db.session,
            None,
            path,
            mapping,
            as_of=AS_OF,
            filename=path.name,
            create_caseworkers=True,
            imported_by_name="bench",
            today=AS_OF,
        )
        if not result.ok:
            db.session.rollback()
            raise SystemExit(f"import refused: {result.errors[:5]}")
        db.session.commit()
        db.session.remove()
    return result


def bare_insert(app) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Insert the imported rows again, with one executemany, into an identical fresh table."""
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type='table' AND name='cases'")
            ).scalar_one()
            index_ddls = conn.execute(
                text(
                    "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='cases' "
                    "AND sql IS NOT NULL"
                )
            ).scalars()
            conn.execute(text(ddl.replace("CREATE TABLE cases", "CREATE TABLE cases_bare", 1)))
            for index_ddl in list(index_ddls):
                conn.execute(
                    text(
                        index_ddl.replace("INDEX ix_", "INDEX bare_ix_", 1).replace(
                            " ON cases ", " ON cases_bare ", 1
                        )
                    )
                )
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            columns = [row[1] for row in cur.execute("PRAGMA table_info(cases)").fetchall()]
            column_list = ", ".join(columns)
            rows = cur.execute(f"SELECT {column_list} FROM cases").fetchall()
            raw.commit()
            placeholders = ", ".join("?" for _ in columns)
            started = time.perf_counter()
            cur.executemany(f"INSERT INTO cases_bare ({column_list}) VALUES ({placeholders})", rows)
            raw.commit()
            seconds = time.perf_counter() - started
        finally:
            raw.close()
        db.session.remove()
    return seconds, len(rows)


def traced_peak(directory: Path, path: Path, name: str) -> float:
    """Peak MiB allocated by Python during one import into a fresh database."""
    app = fresh_app(directory, name)
    gc.collect()
    tracemalloc.start()
    run_import(app, path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def verdict(goal: str, met: bool, detail: str) -> None:
    print(f"GOAL {goal}: {'MET' if met else 'NOT MET'} ({detail})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="timed import/bare pairs")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tilsyn-bench-") as tmp:
        directory = Path(tmp)
        export = directory / "sagsudtraek-bench.csv"
        started = time.perf_counter()
        generate(export, args.rows)
        print(
            f"Generated {args.rows:,} rows ({export.stat().st_size / 2**20:.1f} MiB) "
            f"in {time.perf_counter() - started:.1f} s; load average {load_average()}"
        )

        imports: list[float] = []
        bares: list[float] = []
        ratios: list[float] = []
        for run in range(1, max(args.runs, 1) + 1):
            app = fresh_app(directory, f"bench-{run}.sqlite")
            gc.collect()
            rss_before = current_rss_kib()
            started = time.perf_counter()
            result = run_import(app, export)
            seconds = time.perf_counter() - started
            peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            bare_seconds, bare_rows = bare_insert(app)
            imports.append(seconds)
            bares.append(bare_seconds)
            ratios.append(seconds / bare_seconds)
            print(
                f"Run {run}: import via service {result.rows:,} rows, {result.caseworkers} "
                f"caseworkers, {result.teams} teams in {seconds:.2f} s = "
                f"{result.rows / seconds:,.0f} rows/s; bare executemany of the same "
                f"{bare_rows:,} rows {bare_seconds:.2f} s = {bare_rows / bare_seconds:,.0f} "
                f"rows/s; ratio {seconds / bare_seconds:.2f}"
            )
            if run == 1:
                print(
                    f"  resident memory before the import {rss_before / 1024:.1f} MiB; process "
                    f"peak (ru_maxrss) after it {peak_after / 1024:.1f} MiB (an upper bound for "
                    f"what the import added: {max(peak_after - rss_before, 0) / 1024:.1f} MiB)"
                )
        seconds, ratio = statistics.median(imports), statistics.median(ratios)
        print(
            f"Median of {len(imports)} runs: import {seconds:.2f} s "
            f"({args.rows / seconds:,.0f} rows/s), bare {statistics.median(bares):.2f} s, "
            f"ratio {ratio:.2f} (best {min(ratios):.2f}, worst {max(ratios):.2f}); "
            f"load average {load_average()}"
        )
        verdict(f"import of {args.rows:,} rows < 15 s", seconds < 15, f"median {seconds:.2f} s")
        verdict("ratio import / bare insert < 2", ratio < 2, f"median {ratio:.2f}")

        if not args.no_memory:
            quarter = directory / "sagsudtraek-quarter.csv"
            generate(quarter, max(args.rows // 4, 1))
            peak_quarter = traced_peak(directory, quarter, "mem-quarter.sqlite")
            peak_full = traced_peak(directory, export, "mem-full.sqlite")
            extra_rows = max(args.rows - args.rows // 4, 1)
            per_row = (peak_full - peak_quarter) * 2**20 / extra_rows
            print(
                f"tracemalloc peak (Python allocations): {args.rows // 4:,} rows "
                f"{peak_quarter:.1f} MiB, {args.rows:,} rows {peak_full:.1f} MiB "
                f"(x{peak_full / peak_quarter:.2f} for x4 rows, {per_row:.1f} bytes per extra row)"
            )
            verdict(
                "memory flat with file size",
                peak_full <= peak_quarter * 1.2,
                f"peak {peak_full:.1f} MiB for {args.rows:,} rows vs {peak_quarter:.1f} MiB "
                f"for {args.rows // 4:,}",
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
