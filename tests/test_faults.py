"""Fault runs (issue 9): the scheduler killed mid-run, PostgreSQL stopped during a review save,
a full upload disk. Each ends with a clear message, nothing half-written, and the next attempt
works. Each runs in well under a minute."""

from __future__ import annotations

import errno
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

from tests import factories
from tests.factories import (
    catalogue,
    items_of,
    make_org_snapshot,
    make_plan_row,
    make_round,
    setup_catalogue_and_model,
    two_team_draw,
)
from tests.factories import make_plan as make_round_plan
from tests.factories import option_id as opt
from tilsyn import create_app
from tilsyn.cases import uploads as cases
from tilsyn.extensions import db
from tilsyn.reviews.models import CaseReview
from tilsyn.rounds.models import Round
from tilsyn.sampling.models import Draw
from tilsyn.settings import local_today

TILSYN = str(Path(sys.executable).with_name("tilsyn"))

# --- the scheduler killed in the middle of a run ----------------------------------------------

#: Runs ``tilsyn scheduler --once``; the second draw of the run signals and hangs (to be killed).
HANGING_SCHEDULER = textwrap.dedent(
    """
    import sys, time, pathlib
    import tilsyn.stats.sampling as stats
    flag = pathlib.Path(sys.argv[1])
    original = stats.draw_stratified
    calls = []
    def hanging(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            flag.write_text("mid-run")
            time.sleep(300)
        return result
    stats.draw_stratified = hanging
    from tilsyn.cli import main
    sys.argv = ["tilsyn", *sys.argv[2:]]
    main()
    """
)


def test_scheduler_killed_mid_run_leaves_no_half_written_round_and_the_rerun_completes(
    tmp_path,
):
    url = f"sqlite:///{tmp_path}/fault.sqlite"
    other = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with other.app_context():
        db.create_all()
        org = factories.make_org(db.session)
        setup_catalogue_and_model(db.session, org)
        today = local_today(other.config)
        make_round_plan(db.session, org, starts_on=today, name="Plan A", unit_id=org.unit_a.id)
        make_round_plan(db.session, org, starts_on=today, name="Plan B", unit_id=org.unit_b.id)
        make_org_snapshot(db.session, org, today)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "TILSYN_ENV": "testing", "PYTHONUNBUFFERED": "1"}
    flag = tmp_path / "flag"
    args = ["scheduler", "--once", "--now", today.isoformat()]
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING_SCHEDULER, str(flag), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert flag.exists(), proc.communicate(timeout=10)[0].decode()
        proc.kill()  # SIGKILL in the middle of the run: no chance to clean up
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    engine = create_engine(url)
    try:
        with Session(engine) as s:
            rounds = s.scalars(select(Round)).all()
            # Nothing half-written: no round that exists lacks its draw (there may be none yet,
            # so a list of offenders, not all() over a possibly empty list).
            assert [r.id for r in rounds if r.draw_id is None] == []
            assert s.scalar(select(func.count()).select_from(Draw)) == len(rounds)

        rerun = subprocess.run(
            [TILSYN, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert rerun.stdout.count("Oprettet: ") >= 2 - len(rounds), rerun.stdout
        with Session(engine) as s:
            rounds = s.scalars(select(Round).order_by(Round.plan_id)).all()
            assert len(rounds) == 2
            assert all(r.draw_id is not None for r in rounds)
            assert s.scalar(select(func.count()).select_from(Draw)) == 2
    finally:
        engine.dispose()


# --- PostgreSQL stopped during a review save --------------------------------------------------


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if (Path(out) / "initdb").is_file():
            return Path(out)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


class PrivateServer:
    """A throw-away PostgreSQL cluster of this test only (so it can be stopped)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="tilsyn-pgfault."))
        self.dir.chmod(0o755)
        self.as_pg: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            shutil.chown(self.dir, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run("initdb", "-D", f"{self.dir}/data", "-U", "tilsyn", "--auth=trust", "-E", "UTF8")
        self.start()
        subprocess.run(
            [f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tilsyn", "t"],
            check=True,
        )
        self.url = f"postgresql+psycopg://tilsyn@127.0.0.1:{self.port}/t"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_pg, f"{self.bindir}/{tool}", *args], check=True, capture_output=True
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                *self.as_pg,
                f"{self.bindir}/pg_ctl",
                "-D",
                f"{self.dir}/data",
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL server binaries are missing")
        pytest.skip("PostgreSQL server binaries are missing")
    server = PrivateServer(bindir)
    try:
        yield server
    finally:
        server.remove()


@pytest.mark.postgresql_only
def test_postgresql_stopped_during_a_review_save(app, private_postgres):
    server = private_postgres
    other = create_app({"SQLALCHEMY_DATABASE_URI": server.url})
    with other.app_context():
        db.create_all()
        org = factories.make_org(db.session)
        cps = catalogue(db.session)
        draw = two_team_draw(db.session, org)
        rnd = make_round(
            db.session,
            make_plan_row(db.session, "Hele organisationen", None),
            draw,
            [cps["JOBMAAL-01"], cps["SAMLET-01"]],
        )
        item = items_of(db.session, draw)[0]
        j = cps["JOBMAAL-01"]
        path = f"/gennemgang/runder/{rnd.id}/sager/{item.id}"
        data = {f"cp_{j.id}": str(opt(j, "ja")), f"note_{j.id}": "Vigtig note", "overall_note": ""}
        item_id = item.id
        db.session.commit()
        db.session.remove()

    # Requests run outside any pushed app context, each in its own, as in production.
    client = other.test_client()
    login = {"username": "leder", "password": factories.PASSWORD}
    assert client.post("/login", data=login).status_code == 302
    assert client.get(path).status_code == 200

    armed = {"on": True}

    def stop_database(session: Session) -> None:
        if armed["on"]:  # only the save below commits while armed
            armed["on"] = False
            server.stop()

    event.listen(Session, "before_commit", stop_database)
    try:
        response = client.post(path, data=data)
    finally:
        event.remove(Session, "before_commit", stop_database)
    assert not armed["on"], "the save never reached its commit"
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Databasen kan ikke nås" in page and "intet er gemt" in page

    server.start()
    engine = create_engine(server.url)
    try:
        with Session(engine) as s:  # nothing half-written
            assert s.scalar(select(func.count()).select_from(CaseReview)) == 0
        response = client.post(path, data=data)  # the next attempt works, same login
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        with Session(engine) as s:
            review = s.scalar(select(CaseReview).where(CaseReview.draw_item_id == item_id))
            assert review is not None and [a.note for a in review.answers] == ["Vigtig note"]
    finally:
        engine.dispose()
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


# --- the upload disk is full ------------------------------------------------------------------


def test_a_full_upload_disk_gives_a_clear_message_and_leaves_nothing(
    app, session, org, login_as, monkeypatch
):
    client = login_as("admin")
    root = Path(app.instance_path) / "uploads"
    before = set(root.iterdir()) if root.exists() else set()
    original = shutil.copyfileobj

    def disk_full(source, target, length=0):
        target.write(source.read(10))  # half the file is on disk when the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cases.shutil, "copyfileobj", disk_full)
    content = b"Sags-ID;Sagsbehandler\nS-1;AAA\n"
    upload = {
        "file": (io.BytesIO(content), "udtraek.csv"),
        "mapping": "standard",
        "as_of": date.today().isoformat(),
    }
    response = client.post("/sagsudtraek/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Der er ikke plads til filen på serveren" in page and "Intet er gemt" in page
    assert (set(root.iterdir()) if root.exists() else set()) == before  # nothing left behind

    monkeypatch.setattr(cases.shutil, "copyfileobj", original)
    upload["file"] = (io.BytesIO(content), "udtraek.csv")
    response = client.post("/sagsudtraek/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 302 and "/sagsudtraek/import/" in response.headers["Location"]


def test_other_write_errors_on_upload_are_clear_too(tmp_path, monkeypatch):
    def broken(source, target, length=0):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(cases.shutil, "copyfileobj", broken)
    with pytest.raises(cases.ImportSetupError, match="Filen kunne ikke gemmes"):
        cases.store_upload(
            tmp_path,
            io.BytesIO(b"x"),
            filename="a.csv",
            mapping_name="standard",
            as_of=date(2026, 1, 1),
            user_id=1,
        )
    assert list(tmp_path.iterdir()) == []
