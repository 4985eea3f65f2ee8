"""``make run`` after installation, as separate processes: migrate, load the demo, serve, log in.

Mirrors the Makefile's ``run`` target with the installed ``tilsyn`` command on a temporary SQLite
database (``DATABASE_URL``) and a secret key from ``TILSYN_SECRET_KEY``, with the default
configuration (CSRF on, not the test settings). Each demo role logs in over HTTP with the login
form's real CSRF token and lands on its start page; the caseworker gets 403 on a colleague's case.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import url_for

from tilsyn import create_app
from tilsyn.permissions import START_PAGES, Role

TILSYN = Path(sys.executable).parent / "tilsyn"
PASSWORD = "serve-test-kode-1"
STARTUP_SECONDS = 60
ROLE_USERS = {
    "admin": Role.ADMIN,
    "leder": Role.TEAMLEDER,
    "sagsbehandler": Role.SAGSBEHANDLER,
    "direktoer": Role.DIREKTOER,
    "revisor": Role.REVISOR,
}


@dataclass
class Served:
    url: str
    database: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(database: Path) -> dict[str, str]:
    """The shell environment of ``make run``: no test settings, a database and a secret key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILSYN_")}
    env.pop("FLASK_APP", None)
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        TILSYN_SECRET_KEY="serve-test-" + "k" * 40,
        PYTHONUNBUFFERED="1",
    )
    return env


def _tilsyn(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(TILSYN), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def _get(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str, str]:
    """(status, final URL after redirects, body)."""
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        exc.close()
        return exc.code, url, body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("serve") / "tilsyn.sqlite"
    env = _environment(database)
    _tilsyn(env, "db", "upgrade")
    output = _tilsyn(env, "demo", "--if-empty", "--password", PASSWORD)
    assert "Demokommune oprettet" in output and f"admin / {PASSWORD}" in output
    # make run a second time: the demo is not loaded again.
    assert "allerede brugere" in _tilsyn(env, "demo", "--if-empty", "--password", PASSWORD)
    port = _free_port()
    log = (database.parent / "serve.log").open("w")
    server = subprocess.Popen(
        [str(TILSYN), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        status = 0
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=5) as response:
                    status = response.status
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                break
        assert status == 200, (server.poll(), (database.parent / "serve.log").read_text())
        yield Served(url, database)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()


def _start_paths() -> dict[str, str]:
    """Each demo user's start page, from START_PAGES (first endpoint that exists)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    paths = {}
    with app.test_request_context():
        for username, role in ROLE_USERS.items():
            endpoint = next(e for e in START_PAGES[role] if e in app.view_functions)
            paths[username] = url_for(endpoint)
    return paths


def _log_in(served: Served, username: str) -> tuple[urllib.request.OpenerDirector, int, str]:
    """Log in through the form with its CSRF token; (opener, status, final path)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    status, _, html = _get(opener, f"{served.url}/login")
    assert status == 200
    form = html.split('id="login-form"', 1)[1].split("</form>", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token is not None, form
    data = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    ).encode()
    with opener.open(f"{served.url}/login", data=data, timeout=30) as response:
        final = urllib.parse.urlsplit(response.geturl()).path
        return opener, response.status, final


def test_login_page_is_served_in_danish(served: Served) -> None:
    status, _, html = _get(urllib.request.build_opener(), f"{served.url}/login")
    assert status == 200
    assert '<html lang="da">' in html
    assert "Log ind i tilsyn" in html and "Brugernavn" in html and "Adgangskode" in html


def test_every_demo_role_logs_in_and_lands_on_its_start_page(served: Served) -> None:
    paths = _start_paths()
    for username in ROLE_USERS:
        opener, status, final = _log_in(served, username)
        assert (username, status, final) == (username, 200, paths[username])
        # The session holds: the start page opens again without a new login.
        status, url, _ = _get(opener, f"{served.url}{paths[username]}")
        assert status == 200 and urllib.parse.urlsplit(url).path == paths[username]


def test_login_without_csrf_token_is_refused(served: Served) -> None:
    data = urllib.parse.urlencode({"username": "admin", "password": PASSWORD}).encode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{served.url}/login", data=data, timeout=30)
    assert refused.value.code == 400
    refused.value.close()


def test_caseworker_gets_403_on_a_colleagues_case(served: Served) -> None:
    with sqlite3.connect(served.database) as conn:
        own_caseworker = conn.execute(
            "SELECT caseworker_id FROM users WHERE username = 'sagsbehandler'"
        ).fetchone()[0]
        other = conn.execute(
            "SELECT id FROM cases WHERE caseworker_id != ? ORDER BY id LIMIT 1", (own_caseworker,)
        ).fetchone()[0]
        own = conn.execute(
            "SELECT id FROM cases WHERE caseworker_id = ? ORDER BY id LIMIT 1", (own_caseworker,)
        ).fetchone()[0]
    opener, status, _ = _log_in(served, "sagsbehandler")
    assert status == 200
    status, _, html = _get(opener, f"{served.url}/risiko/sag/{other}")
    assert status == 403
    assert "Ingen adgang" in html
    status, _, _ = _get(opener, f"{served.url}/risiko/sag/{own}")
    assert status == 200


# --- make run as the whole product: web server and scheduler side by side (Procfile, honcho) ---

ROOT = Path(__file__).resolve().parents[1]
HONCHO = Path(sys.executable).parent / "honcho"


@dataclass
class Demo:
    env: dict[str, str]
    database: Path
    output: str
    counts: dict[str, int]


def _passwords(output: str) -> dict[str, str]:
    """username -> password from the demo's printed logins."""
    return dict(re.findall(r"^  (\w+) / (\S+)  \(", output, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A migrated database with the demo (random passwords), as the first ``make run`` leaves it."""
    database = tmp_path_factory.mktemp("product") / "tilsyn.sqlite"
    env = _environment(database)
    _tilsyn(env, "db", "upgrade")
    output = _tilsyn(env, "demo", "--if-empty")
    assert set(_passwords(output)) == set(ROLE_USERS), output
    return Demo(env, database, output, _counts(database))


def test_make_run_starts_the_procfile_with_honcho() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "demo --if-empty" in recipe
    assert "honcho start" in recipe and "-f Procfile" in recipe
    assert "HOST=$(HOST)" in recipe and "PORT=$(PORT)" in recipe
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    processes = dict(
        line.split(":", 1) for line in procfile.splitlines() if line and not line.startswith("#")
    )
    assert set(processes) == {"web", "scheduler"}
    assert "tilsyn serve" in processes["web"] and "$PORT" in processes["web"].replace("{", "")
    assert "tilsyn scheduler" in processes["scheduler"]


def _wait_for(predicate: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen (honcho exit status {process.poll()})")


def _serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/login", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_honcho_runs_web_and_scheduler_and_ctrl_c_stops_both(demo_database: Demo) -> None:
    port = _free_port()
    env = dict(
        demo_database.env,
        HOST="127.0.0.1",
        PORT=str(port),
        PATH=f"{TILSYN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    log_path = demo_database.database.parent / "honcho.log"
    with log_path.open("wb") as log:
        honcho = subprocess.Popen(
            [str(HONCHO), "start", "-f", str(ROOT / "Procfile")],
            cwd=demo_database.database.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(lambda: _serves(url), honcho, "the web server answering on PORT")
            _wait_for(
                lambda: "Planlæggeren kører" in log_path.read_text("utf-8", "replace"),
                honcho,
                "the scheduler starting",
            )
            # The scheduler caught up on the demo's overdue rounds: reminders went to the log.
            text = log_path.read_text("utf-8", "replace")
            assert re.search(r"scheduler\.1 .*Mail til leder@demo\.tilsyn\.example", text), text
            pids = {
                name: int(pid)
                for name, pid in re.findall(r"(web|scheduler)\.1 started \(pid=(\d+)\)", text)
            }
            assert set(pids) == {"web", "scheduler"}, text
            honcho.send_signal(signal.SIGINT)  # what Ctrl+C sends to the foreground process
            honcho.wait(timeout=30)
        finally:
            if honcho.poll() is None:
                honcho.kill()
                honcho.wait(timeout=15)
    text = log_path.read_text("utf-8", "replace")
    assert "SIGINT received" in text, text
    assert "Planlæggeren er stoppet." in text, text
    assert not _serves(url)
    for name, pid in pids.items():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert f"{name}.1 stopped" in text, text


def test_second_run_says_how_to_start_over(demo_database: Demo) -> None:
    output = _tilsyn(demo_database.env, "demo", "--if-empty")
    assert "allerede brugere" in output
    assert "tilsyn demo --reset" in output


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        return {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in ("users", "cases", "audit_events", "units")
        }


def test_demo_reset_asks_first_then_empties_and_loads_the_demo_with_new_logins(
    demo_database: Demo,
) -> None:
    before = _counts(demo_database.database)
    old = _passwords(demo_database.output)
    declined = subprocess.run(
        [str(TILSYN), "demo", "--reset"],
        env=demo_database.env,
        input="n\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert declined.returncode == 1, declined
    assert "slettes" in declined.stdout and "Afbrudt" in declined.stdout
    assert _counts(demo_database.database) == before
    output = _tilsyn(demo_database.env, "demo", "--reset", "--yes")
    assert "Demokommune oprettet" in output
    assert "Udvidelser" not in output and "tilsyn.rounds" not in output
    new = _passwords(output)
    assert set(new) == set(ROLE_USERS)
    assert all(new[user] != old[user] for user in ROLE_USERS)
    # The same demo again, as right after the first build, not on top of the old rows (the
    # scheduler's rounds and audit events of the runs in between are gone too).
    assert _counts(demo_database.database) == demo_database.counts
    assert demo_database.counts["cases"] > 0 and demo_database.counts["users"] == 5
