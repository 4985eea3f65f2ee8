"""Load run: gunicorn (2 workers) on PostgreSQL with the demo and 8 concurrent clients.

Run with ``make bench`` or::

    bash tests/infra/with-postgres.sh .venv/bin/python bench/bench_load.py [--seconds 60]

The database named by ``--database-url`` (default ``TILSYN_TEST_DATABASE_URL``, as set by
``tests/infra/with-postgres.sh``) is emptied, given the schema and the demo municipality
(``tilsyn demo``'s data, one password for every demo user), and served by
``gunicorn -w 2 'tilsyn:create_app()'`` with production settings (CSRF on) on a free local port.

Clients, each a thread with its own login session and cookie:

- 4 team leaders (two as ``leder``, two as ``admin``) share out the open reviews of the current
  rounds and keep saving drafts: open the review page, answer every control point, write a
  note and an overall note that name the client and a running number, save. Every save that
  the server acknowledges (302 back to the review page) is counted per review.
- 3 caseworkers (``sagsbehandler``) read *Mine sager* and the catalogue of control points.
- 1 director (``direktoer``) reads the overview, the round calendar and a round page.

Afterwards it checks: no request failed (a status other than the expected one, or a network
error); no write was lost (for every review a leader saved: the stored overall note is the
last one the client was told was saved, and the audit log holds exactly as many save events
for it as the client counted). It prints requests, throughput and the p50/p95/max latency per
page. Exit status 0 only when there were no errors and no lost writes.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "belastning-2026"
LEADER_LOGINS = ("leder", "leder", "admin", "admin")
CASEWORKER_CLIENTS = 3


# --- a tiny HTTP client with one cookie ------------------------------------------------------


class FormParser(HTMLParser):
    """Collects links, hidden inputs, radio groups and text areas of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = defaultdict(list)
        self.textareas: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "hidden":
                self.hidden[a["name"]] = a.get("value", "")
            elif kind == "radio":
                self.radios[a["name"]].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.textareas.append(a["name"])


def parse(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


class RequestFailed(Exception):
    pass


@dataclass
class Client:
    port: int
    name: str
    timings: dict[str, list[float]]
    errors: list[str]
    cookie: str = ""
    requests: int = 0

    def request(
        self, page: str, method: str, path: str, data: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """One request; returns (status, body, Location). Records the time under ``page``."""
        body = urlencode(data, doseq=True) if data is not None else None
        headers = {"Cookie": f"session={self.cookie}"} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except OSError as exc:
            self.errors.append(f"{self.name} {method} {path}: {exc!r}")
            raise RequestFailed(str(exc)) from exc
        finally:
            conn.close()
        self.timings[page].append(time.perf_counter() - started)
        self.requests += 1
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0][len("session=") :]
        return response.status, text, response.getheader("Location") or ""

    def expect(
        self, page: str, method: str, path: str, status: int, data: dict[str, str] | None = None
    ) -> tuple[str, str]:
        got, text, location = self.request(page, method, path, data)
        if got != status:
            self.errors.append(f"{self.name} {method} {path}: {got} (expected {status})")
            raise RequestFailed(f"{got}")
        return text, location

    def login(self, username: str) -> None:
        text, _ = self.expect("login", "GET", "/login", 200)
        token = parse(text).hidden.get("csrf_token", "")
        _, location = self.expect(
            "login",
            "POST",
            "/login",
            302,
            {"csrf_token": token, "username": username, "password": PASSWORD},
        )
        if "/login" in location:
            self.errors.append(f"{self.name}: login as {username} failed")
            raise RequestFailed("login")


# --- the clients -----------------------------------------------------------------------------

EDIT_LINK = re.compile(r"^/gennemgang/runder/(\d+)/sager/(\d+)$")
ROUND_LINK = re.compile(r"^/gennemgang/runder/(\d+)$")


@dataclass
class LeaderWrites:
    """What one leader client was told was saved: review item -> (count, last overall note)."""

    saves: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    last_note: dict[tuple[int, int], str] = field(default_factory=dict)


def review_items(client: Client) -> list[tuple[int, int]]:
    """The open reviews the client may edit: (round id, draw item id)."""
    text, _ = client.expect("reviews list", "GET", "/gennemgang/", 200)
    rounds = sorted(
        {int(m.group(1)) for link in parse(text).links if (m := ROUND_LINK.match(link))}
    )
    items: list[tuple[int, int]] = []
    for round_id in rounds:
        text, _ = client.expect("review round", "GET", f"/gennemgang/runder/{round_id}", 200)
        for link in parse(text).links:
            if m := EDIT_LINK.match(link):
                items.append((int(m.group(1)), int(m.group(2))))
    return sorted(set(items))


def leader(
    client: Client, username: str, mine: list[tuple[int, int]], stop: float, writes: LeaderWrites
) -> None:
    client.login(username)
    n = 0
    while time.monotonic() < stop:
        for round_id, item_id in mine:
            if time.monotonic() >= stop:
                return
            path = f"/gennemgang/runder/{round_id}/sager/{item_id}"
            text, _ = client.expect("review page", "GET", path, 200)
            page = parse(text)
            n += 1
            stamp = f"{client.name} nr. {n}"
            data = dict(page.hidden)
            for name, values in page.radios.items():
                data[name] = values[n % len(values)]
            for name in page.textareas:
                data[name] = f"Bemærkning fra {stamp}"
            data["overall_note"] = f"Samlet: {stamp}"
            data["save"] = "Gem kladde"
            _, location = client.expect("review save", "POST", path, 302, data)
            if urlsplit(location).path != path:
                client.errors.append(f"{client.name}: save of {path} went to {location}")
                continue
            writes.saves[(round_id, item_id)] += 1
            writes.last_note[(round_id, item_id)] = data["overall_note"]


def caseworker(client: Client, stop: float) -> None:
    client.login("sagsbehandler")
    while time.monotonic() < stop:
        client.expect("my cases", "GET", "/mine-sager", 200)
        client.expect("catalogue", "GET", "/kontrolpunkter/", 200)


def director(client: Client, stop: float) -> None:
    client.login("direktoer")
    rounds: list[str] = []
    i = 0
    while time.monotonic() < stop:
        client.expect("overview", "GET", "/overblik", 200)
        text, _ = client.expect("calendar", "GET", "/tilsyn/", 200)
        if not rounds:
            rounds = [link for link in parse(text).links if re.match(r"^/tilsyn/runder/\d+$", link)]
        if rounds and time.monotonic() < stop:
            client.expect("round page", "GET", rounds[i % len(rounds)], 200)
        i += 1


# --- set-up, serving, checking ---------------------------------------------------------------


def prepare_database(url: str) -> None:
    """Empty the database and load the demo with one known password."""
    from tilsyn import create_app
    from tilsyn.demo import build_demo
    from tilsyn.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "prepare"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        build_demo(db.session, seed=2026, password=PASSWORD)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(url: str, port: int, workers: int = 2) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TILSYN_ENV"}
    env.update(
        DATABASE_URL=url,
        TILSYN_SECRET_KEY=secrets.token_hex(32),
        PYTHONPATH=str(ROOT),
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "tilsyn:create_app()",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped at start (exit {process.returncode})")
        try:  # the port opens before the workers have loaded the app: wait for a page
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return process
            conn.close()
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("gunicorn did not start within 60 s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class LoadResult:
    seconds: float
    requests: int
    errors: list[str]
    lost: list[str]
    saves: int
    reviews_written: int
    timings: dict[str, list[float]]

    def p95(self, page: str) -> float:
        values = sorted(self.timings[page])
        return values[min(len(values) - 1, int(0.95 * len(values)))]

    def report(self) -> str:
        lines = [
            f"Belastning: {self.requests} forespørgsler på {self.seconds:.0f} s "
            f"({self.requests / self.seconds:.1f}/s), {self.saves} gemte kladder på "
            f"{self.reviews_written} gennemgange, {len(self.errors)} fejl, "
            f"{len(self.lost)} tabte skrivninger",
            f"{'side':<14} {'antal':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}",
        ]
        for page in sorted(self.timings):
            values = self.timings[page]
            if not values:
                continue
            lines.append(
                f"{page:<14} {len(values):>6} {statistics.median(values) * 1000:>8.0f} "
                f"{self.p95(page) * 1000:>8.0f} {max(values) * 1000:>8.0f}"
            )
        lines += [f"FEJL: {e}" for e in self.errors[:20]]
        lines += [f"TABT: {e}" for e in self.lost[:20]]
        return "\n".join(lines)


def check_writes(url: str, writes: list[LeaderWrites], since: datetime) -> list[str]:
    """Compare what each leader client was told was saved with the database."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from tilsyn import models  # noqa: F401  (every table)
    from tilsyn.audit.models import AuditEvent
    from tilsyn.reviews.models import CaseReview
    from tilsyn.settings import normalise_database_url

    lost: list[str] = []
    engine = create_engine(normalise_database_url(url))
    with Session(engine) as session:
        for client_writes in writes:
            for (round_id, item_id), count in client_writes.saves.items():
                review = session.scalar(
                    select(CaseReview).where(
                        CaseReview.round_id == round_id, CaseReview.draw_item_id == item_id
                    )
                )
                if review is None:
                    lost.append(f"runde {round_id} sag {item_id}: ingen gennemgang gemt")
                    continue
                expected = client_writes.last_note[(round_id, item_id)]
                if review.overall_note != expected:
                    lost.append(
                        f"runde {round_id} sag {item_id}: gemt «{review.overall_note}», "
                        f"ventet «{expected}»"
                    )
                events = session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(
                        AuditEvent.object_type == "case_review",
                        AuditEvent.object_id == str(review.id),
                        AuditEvent.action.in_(("create", "update")),
                        AuditEvent.at >= since,
                    )
                )
                if events != count:
                    lost.append(
                        f"runde {round_id} sag {item_id}: {count} gemninger kvitteret, "
                        f"{events} i revisionsloggen"
                    )
    engine.dispose()
    return lost


def run_load(url: str, seconds: float, port: int | None = None) -> LoadResult:
    """Prepare the database, serve it with gunicorn, run the clients; return the figures."""
    from tilsyn.models_base import utcnow

    prepare_database(url)
    port = port or free_port()
    server = start_gunicorn(url, port)
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    try:
        scout = Client(port, "spejder", defaultdict(list), errors)
        scout.login("leder")
        items = review_items(scout)
        if len(items) < len(LEADER_LOGINS):
            raise RuntimeError(f"only {len(items)} open reviews in the demo")
        since = utcnow()
        started = time.monotonic()
        stop = started + seconds
        writes = [LeaderWrites() for _ in LEADER_LOGINS]
        clients: list[Client] = []
        threads: list[threading.Thread] = []

        def guarded(target: object, *args: object) -> None:
            try:
                target(*args)  # type: ignore[operator]
            except RequestFailed:
                pass
            except Exception as exc:  # a client must never die silently
                errors.append(f"{args[0]}: {exc!r}")

        for k, username in enumerate(LEADER_LOGINS):
            client = Client(port, f"leder-{k + 1}", timings, errors)
            mine = items[k :: len(LEADER_LOGINS)]
            clients.append(client)
            threads.append(
                threading.Thread(
                    target=guarded, args=(leader, client, username, mine, stop, writes[k])
                )
            )
        for k in range(CASEWORKER_CLIENTS):
            client = Client(port, f"sagsbehandler-{k + 1}", timings, errors)
            clients.append(client)
            threads.append(threading.Thread(target=guarded, args=(caseworker, client, stop)))
        client = Client(port, "direktør", timings, errors)
        clients.append(client)
        threads.append(threading.Thread(target=guarded, args=(director, client, stop)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 120)
        elapsed = time.monotonic() - started
    finally:
        stop_process(server)
    lost = check_writes(url, writes, since)
    return LoadResult(
        seconds=elapsed,
        requests=sum(c.requests for c in clients),
        errors=errors,
        lost=lost,
        saves=sum(sum(w.saves.values()) for w in writes),
        reviews_written=sum(len(w.saves) for w in writes),
        timings={k: v for k, v in timings.items() if k != "login"},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default=os.environ.get("TILSYN_TEST_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith("postgresql"):
        print(
            "Kræver PostgreSQL: bash tests/infra/with-postgres.sh "
            ".venv/bin/python bench/bench_load.py",
            file=sys.stderr,
        )
        return 2
    result = run_load(args.database_url, args.seconds)
    print(result.report())
    ok = not result.errors and not result.lost and result.saves > 0
    print(f"GOAL ingen fejl og ingen tabte skrivninger: {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
