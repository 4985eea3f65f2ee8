"""Benchmark the case import: 200,000 rows through the service vs. a bare bulk insert.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_import.py [--rows N]``).

1. Generate an export with the same columns as ``sagsudtraek-eksempel.csv`` (UTF-8 with BOM,
   ``;``, ``dd-mm-yyyy``, decimal comma) in a temporary directory.
2. Import it into a fresh SQLite *file* database through ``tilsyn.cases.services.import_file``
   (the same call the CLI and the web make), committing once.
3. Copy the ``cases`` table's schema (same columns, constraints and indexes) to ``cases_bare`` in
   the same database and insert the very same rows with one DBAPI ``executemany`` in one
   transaction. The ratio import / bare is the price of parsing, validating and mapping.
4. Memory: the timed run reports the resident set just before the import (``VmRSS``) and the
   process's peak resident set (``ru_maxrss``, KiB on Linux) after it; the difference bounds what
   the import added (interpreter, libraries and SQLite's page cache included, so it is only an
   upper bound). Separate runs under ``tracemalloc`` (which slows Python down, hence not timed)
   report the peak of memory *allocated by Python* while importing a quarter of the file and
   the whole file. Batches, lookups and caches are bounded; the only part that grows with the
   file is the parser's duplicate-detection dictionary of case references (about 140 bytes per
   row), which the issue allows.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("TILSYN_ENV", "bench")

from sqlalchemy import text

from tilsyn import create_app
from tilsyn.cases import services
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


def run_import(app, path: Path) -> services.ImportResult:  # type: ignore[no-untyped-def]
    with app.app_context():
        mapping = services.load_mapping(None, app.config["MAPPINGS_DIR"])
        result = services.import_file(
            db.session,
            None,
            path,
            mapping,
            as_of=AS_OF,
            filename=path.name,
            create_caseworkers=True,
            imported_by_name="bench",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tilsyn-bench-") as tmp:
        directory = Path(tmp)
        export = directory / "sagsudtraek-bench.csv"
        started = time.perf_counter()
        generate(export, args.rows)
        print(
            f"Generated {args.rows:,} rows ({export.stat().st_size / 2**20:.1f} MiB) "
            f"in {time.perf_counter() - started:.1f} s"
        )

        app = fresh_app(directory, "bench.sqlite")
        gc.collect()
        rss_before = current_rss_kib()
        started = time.perf_counter()
        result = run_import(app, export)
        seconds = time.perf_counter() - started
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"Import via service: {result.rows:,} rows, {result.caseworkers} caseworkers, "
            f"{result.teams} teams in {seconds:.2f} s = {result.rows / seconds:,.0f} rows/s"
        )
        print(
            f"  resident memory before the import {rss_before / 1024:.1f} MiB; process peak "
            f"(ru_maxrss) after it {peak_after / 1024:.1f} MiB; the import added at most "
            f"{max(peak_after - rss_before, 0) / 1024:.1f} MiB"
        )
        bare_seconds, bare_rows = bare_insert(app)
        print(
            f"Bare executemany of the same {bare_rows:,} rows into an identical table: "
            f"{bare_seconds:.2f} s = {bare_rows / bare_seconds:,.0f} rows/s"
        )
        ratio = seconds / bare_seconds
        print(f"Ratio import / bare insert: {ratio:.2f} (goal < 2)")
        print(f"Goal 200k rows < 15 s: {'met' if seconds < 15 else 'NOT met'} ({seconds:.2f} s)")

        if not args.no_memory:
            quarter = directory / "sagsudtraek-quarter.csv"
            generate(quarter, max(args.rows // 4, 1))
            peak_quarter = traced_peak(directory, quarter, "mem-quarter.sqlite")
            peak_full = traced_peak(directory, export, "mem-full.sqlite")
            print(
                f"tracemalloc peak (Python allocations): {args.rows // 4:,} rows "
                f"{peak_quarter:.1f} MiB, {args.rows:,} rows {peak_full:.1f} MiB "
                f"(growth x{peak_full / peak_quarter:.2f} for x4 rows, "
                f"{(peak_full - peak_quarter) * 2**20 / (args.rows - args.rows // 4):.0f} bytes "
                "per extra row: the parser's duplicate-detection dictionary of case references; "
                "batches and lookups do not grow)"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
