"""Benchmark the results pages on five years of history, served by gunicorn to 8 clients.

Run on PostgreSQL (the goal's setting) with::

    bash tests/infra/with-postgres.sh .venv/bin/python bench/bench_results.py

(without ``TILSYN_TEST_DATABASE_URL`` it falls back to a SQLite file). Options shrink the
history (``--quarters``, ``--teams``, ``--caseworkers``, ``--cases``, ``--points``).

1. Build the history with bulk inserts (not through the services, to keep the setup short):
   ``--teams`` units of ``--caseworkers`` caseworkers, one quarterly plan per unit and a round
   per quarter for ``--quarters`` quarters, each drawing ``--cases`` cases per caseworker with
   unequal π; every review completed, answering ``--points`` control points of the starter
   catalogue (defaults: 20 × 10 × 15 × 3 × 30 = 270,000 answers). The newest quarter keeps
   one review per round as a draft.
2. Serve the app with gunicorn (2 workers) and log in 8 clients as the director.
3. Warm both workers, then for each of ``/overblik``, ``/resultater`` and a trivial endpoint
   (``/konto``) let the 8 clients request it for ``--seconds`` seconds: p50/p95 latency and
   throughput.
4. Complete the draft review (a new fingerprint for the newest quarter) and time the first
   render of ``/overblik`` and ``/resultater`` afterwards (on each worker).

Goals, one verdict line each (``GOAL ... : MET`` / ``NOT MET``): p95 ≤ 200 ms for
``/overblik`` and ``/resultater``; their throughput ≥ 0.3 × the trivial endpoint's in the same
run; the first render after a review is completed ≤ 1 s.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("TILSYN_ENV", "bench")

import numpy as np
from sqlalchemy import func, insert, select, update

from tilsyn import create_app
from tilsyn.auth.models import User
from tilsyn.auth.services import hash_password
from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import ControlPoint, ScaleOption
from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.extensions import db
from tilsyn.org.models import Caseworker, Unit
from tilsyn.reviews.models import CaseReview, ReviewAnswer, ReviewStatus
from tilsyn.risk.versions import ensure_default_model
from tilsyn.rounds.models import Round, RoundControlPoint, RoundStatus, RoundTheme, SupervisionPlan
from tilsyn.sampling.models import Draw, DrawItem

PASSWORD = "bench-adgang-1"
DRAFT, COMPLETED = ReviewStatus.DRAFT, ReviewStatus.COMPLETED
CLIENTS = 8


def quarter(index: int) -> tuple[str, date]:
    year, q = 2021 + index // 4, index % 4
    return f"{year}-K{q + 1}", date(year, 3 * q + 1, 1)


def build(url: str, args: argparse.Namespace) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rng = np.random.default_rng(2026)
    with app.app_context():
        db.drop_all()
        db.create_all()
        s = db.session
        s.add(
            User(
                username="direktoer",
                role="direktoer",
                password_hash=hash_password(PASSWORD),
                display_name="Direktør",
            )
        )
        load_starter_catalogue(s, None)
        model = ensure_default_model(s, None, date(2021, 1, 1))
        points = list(s.scalars(select(ControlPoint).order_by(ControlPoint.code)))[: args.points]
        options = {
            p.id: {
                o.outcome: o.id
                for o in s.scalars(select(ScaleOption).where(ScaleOption.scale_id == p.scale_id))
            }
            for p in points
        }
        themes = sorted({p.theme_id for p in points})
        units, workers = [], []
        for t in range(args.teams):
            unit = Unit(name=f"Team {t + 1:02d}")
            s.add(unit)
            s.flush()
            units.append(unit)
            for c in range(args.caseworkers):
                cw = Caseworker(
                    initials=f"T{t:02d}C{c:02d}",
                    name=f"Sagsbehandler {t}-{c}",
                    unit_id=unit.id,
                    employment_start=date(2015, 1, 1),
                )
                s.add(cw)
                workers.append(cw)
        s.flush()
        plans = []
        for unit in units:
            plan = SupervisionPlan(
                name=f"Plan {unit.name}", unit_id=unit.id, starts_on=date(2021, 1, 1)
            )
            s.add(plan)
            plans.append(plan)
        s.flush()
        answers_total = 0
        for qi in range(args.quarters):
            label, start = quarter(qi)
            snap = Snapshot(
                as_of=start,
                source_filename="bench.csv",
                sha256=f"{qi:064d}",
                mapping_name="bench",
                row_count=0,
                imported_by_name="bench",
            )
            s.add(snap)
            s.flush()
            case_rows = []
            for cw in workers:
                for k in range(args.cases):
                    case_rows.append(
                        {
                            "snapshot_id": snap.id,
                            "case_ref": f"S-{qi:02d}-{cw.id:04d}-{k}",
                            "caseworker_id": cw.id,
                            "unit_id": cw.unit_id,
                            "scheme": "sygedagpenge",
                            "start_date": start - timedelta(days=200),
                            "last_conversation": None,
                            "conversations_12m": None,
                            "reassessment_due": None,
                            "caseworker_changes_12m": None,
                            "job_goal": None,
                            "cv_on_jobnet": None,
                            "weekly_hours": None,
                        }
                    )
            s.execute(insert(Case), case_rows)
            case_ids = dict(
                s.execute(select(Case.case_ref, Case.id).where(Case.snapshot_id == snap.id)).all()
            )
            for plan, unit in zip(plans, units, strict=True):
                draw = Draw(
                    snapshot_id=snap.id,
                    snapshot_sha256=snap.sha256,
                    population_sha256="0" * 64,
                    risk_model_version_id=model.id,
                    factors_sha256="0" * 64,
                    params={},
                    caseworker_facts={},
                    algorithm="bench",
                    algorithm_version="1",
                    seed="1",
                    created_by_name="bench",
                    purpose="round",
                    sample_size=args.caseworkers * args.cases,
                    population_size=args.caseworkers * args.cases * 10,
                )
                s.add(draw)
                s.flush()
                newest = qi == args.quarters - 1
                rnd = Round(
                    plan_id=plan.id,
                    period_label=label,
                    period_start=start,
                    period_end=start + timedelta(days=89),
                    draw_id=draw.id,
                    status=RoundStatus.CLOSED,
                )
                s.add(rnd)
                s.flush()
                s.execute(
                    insert(RoundTheme),
                    [
                        {"round_id": rnd.id, "theme_id": t, "is_core": i < 2, "position": i}
                        for i, t in enumerate(themes)
                    ],
                )
                core = set(themes[:2])
                s.execute(
                    insert(RoundControlPoint),
                    [
                        {
                            "round_id": rnd.id,
                            "control_point_id": p.id,
                            "is_core": p.theme_id in core,
                        }
                        for p in points
                    ],
                )
                items = []
                order = 0
                for cw in workers:
                    if cw.unit_id != unit.id:
                        continue
                    for k in range(args.cases):
                        ref = f"S-{qi:02d}-{cw.id:04d}-{k}"
                        items.append(
                            {
                                "draw_id": draw.id,
                                "case_id": case_ids[ref],
                                "case_ref": ref,
                                "caseworker_id": cw.id,
                                "unit_id": unit.id,
                                "scheme": "sygedagpenge",
                                "stratum": cw.initials,
                                "risk_score": 0.0,
                                "inclusion_probability": float(rng.uniform(0.05, 0.6)),
                                "factors": [],
                                "order": order,
                            }
                        )
                        order += 1
                s.execute(insert(DrawItem), items)
                item_rows = s.execute(
                    select(DrawItem.id, DrawItem.case_id, DrawItem.caseworker_id).where(
                        DrawItem.draw_id == draw.id
                    )
                ).all()
                now = datetime(start.year, start.month, 20)
                s.execute(
                    insert(CaseReview),
                    [
                        {
                            "round_id": rnd.id,
                            "draw_item_id": i,
                            "case_id": c,
                            "caseworker_id": w,
                            "reviewer_name": "bench",
                            "status": ReviewStatus.DRAFT
                            if newest and n == 0
                            else ReviewStatus.COMPLETED,
                            "started_at": now,
                            "updated_at": now,
                            "completed_at": None if newest and n == 0 else now,
                            "overall_note": "",
                        }
                        for n, (i, c, w) in enumerate(item_rows)
                    ],
                )
                reviews = (
                    s.execute(select(CaseReview.id).where(CaseReview.round_id == rnd.id))
                    .scalars()
                    .all()
                )
                rows = []
                base = rng.uniform(0.4, 0.9, len(points))
                for rid in reviews:
                    u = rng.random(len(points))
                    for j, p in enumerate(points):
                        outcome = (
                            "not_applicable"
                            if u[j] > 0.95 and "not_applicable" in options[p.id]
                            else "in_order"
                            if u[j] < base[j]
                            else "not_in_order"
                        )
                        if outcome not in options[p.id]:
                            outcome = "not_in_order"
                        rows.append(
                            {
                                "review_id": rid,
                                "control_point_id": p.id,
                                "option_id": options[p.id][outcome],
                                "outcome": outcome,
                                "score": None,
                                "note": "",
                            }
                        )
                s.execute(insert(ReviewAnswer), rows)
                answers_total += len(rows)
            s.commit()
            print(f"  {label}: {answers_total:,} answers so far", flush=True)
        db.session.remove()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def login(self) -> None:
        body = urllib.parse.urlencode({"username": "direktoer", "password": PASSWORD}).encode()
        self.opener.open(f"{self.base}/login", data=body, timeout=60).read()

    def get(self, path: str) -> float:
        t = time.perf_counter()
        with self.opener.open(f"{self.base}{path}", timeout=60) as r:
            r.read()
            assert r.status == 200, (path, r.status)
        return time.perf_counter() - t


def load_test(clients: list[Client], path: str, seconds: float) -> tuple[list[float], float]:
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(c: Client) -> None:
        while time.perf_counter() < stop:
            d = c.get(path)
            with lock:
                times.append(d)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return times, len(times) / (time.perf_counter() - t0)


def verdict(name: str, ok: bool, detail: str) -> None:
    print(f"GOAL {name}: {'MET' if ok else 'NOT MET'} ({detail})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quarters", type=int, default=20)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--caseworkers", type=int, default=15)
    parser.add_argument("--cases", type=int, default=3)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tilsyn-bench-results-"))
    url = os.environ.get("TILSYN_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite'}"
    print(f"Database: {url.split('@')[-1]}; load average {os.getloadavg()[0]:.2f}")
    t = time.perf_counter()
    build(url, args)
    print(f"History built in {time.perf_counter() - t:.1f} s")
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        TILSYN_WTF_CSRF_ENABLED="false",
        TILSYN_SECRET_KEY="bench-secret",
        TILSYN_SQLALCHEMY_DATABASE_URI=url,
    )
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(
        [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "120", "tilsyn:create_app()"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/login", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        clients = [Client(base) for _ in range(CLIENTS)]
        for c in clients:
            c.login()
        t = time.perf_counter()
        for _ in range(4):  # both workers, both pages (cold caches)
            for c in clients[:2]:
                c.get("/overblik")
                c.get("/resultater")
        print(f"Warm-up (cold caches on 2 workers): {time.perf_counter() - t:.1f} s")
        results = {}
        for path in ("/konto", "/overblik", "/resultater"):
            times, rate = load_test(clients, path, args.seconds)
            times.sort()
            p50 = statistics.median(times)
            p95 = times[int(0.95 * (len(times) - 1))]
            results[path] = (p95, rate)
            print(
                f"{path:12s} n={len(times):5d}  p50 {p50 * 1000:7.1f} ms  "
                f"p95 {p95 * 1000:7.1f} ms  {rate:7.1f} req/s"
            )
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            db.session.execute(
                update(CaseReview)
                .where(CaseReview.status == ReviewStatus.DRAFT)
                .values(
                    status=ReviewStatus.COMPLETED, completed_at=func.now(), updated_at=func.now()
                )
            )
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        firsts = []
        for c in clients[:2]:  # gunicorn spreads connections over both workers
            firsts.append(c.get("/overblik"))
            firsts.append(c.get("/resultater"))
        print(
            "First renders after completing a review: "
            + ", ".join(f"{x * 1000:.0f} ms" for x in firsts)
        )
        trivial = results["/konto"][1]
        for path in ("/overblik", "/resultater"):
            p95, rate = results[path]
            verdict(f"{path} p95 <= 200 ms", p95 <= 0.2, f"{p95 * 1000:.0f} ms")
            verdict(
                f"{path} throughput >= 0.3 x trivial",
                rate >= 0.3 * trivial,
                f"{rate:.1f} vs {trivial:.1f} req/s",
            )
        worst = max(firsts)
        verdict(
            "first render after a completed review <= 1 s",
            worst <= 1.0,
            f"worst {worst * 1000:.0f} ms",
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
