"""The scheduler as a process: long-running start, catch-up and SIGTERM; the acceptance run.

These tests run ``tilsyn`` in subprocesses against their own temporary SQLite database (set
with ``DATABASE_URL``), prepared in-process by a second app instance.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from tests import factories
from tests.factories import make_org_snapshot, make_plan, setup_catalogue_and_model
from tilsyn import create_app, scheduler
from tilsyn.demo import build_demo
from tilsyn.extensions import db
from tilsyn.rounds.models import Round, RoundStatus, SupervisionPlan
from tilsyn.rounds.periods import next_period, period_containing
from tilsyn.settings import local_today

TILSYN = str(Path(sys.executable).with_name("tilsyn"))


@pytest.fixture
def temp_db(tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """An empty SQLite database file with the schema, and an app bound to it."""
    url = f"sqlite:///{tmp_path}/scheduler.sqlite"
    other = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with other.app_context():
        db.create_all()
    yield url, other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "TILSYN_ENV": "testing", "PYTHONUNBUFFERED": "1"}


def _reader(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")  # end of stream


def _wait_for(lines: queue.Queue[str], seen: list[str], needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line == "":
            return False
        seen.append(line)
        if needle in line:
            return True
    return False


def test_long_running_scheduler_catches_up_stores_jobs_and_stops_on_sigterm(temp_db):
    url, other = temp_db
    today = local_today(other.config)
    with other.app_context():
        org = factories.make_org(db.session)
        setup_catalogue_and_model(db.session, org)
        org.users["leder"].email = "leder@example.org"
        plan = make_plan(db.session, org, starts_on=today)
        make_org_snapshot(db.session, org, today)
        db.session.commit()
        plan_id, plan_name = plan.id, plan.name
    proc = subprocess.Popen(
        [TILSYN, "scheduler"],
        env=_env(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out_lines: queue.Queue[str] = queue.Queue()
    err_lines: queue.Queue[str] = queue.Queue()
    readers = [
        threading.Thread(target=_reader, args=(proc.stdout, out_lines), daemon=True),
        threading.Thread(target=_reader, args=(proc.stderr, err_lines), daemon=True),
    ]
    for reader in readers:
        reader.start()
    stdout: list[str] = []
    try:
        assert _wait_for(out_lines, stdout, "Planlæggeren kører", 120), stdout
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rounds = conn.execute(
                    select(Round.period_label, Round.status, Round.draw_id).where(
                        Round.plan_id == plan_id
                    )
                ).all()
                deadline = time.monotonic() + 60
                jobs: list[str] = []
                while time.monotonic() < deadline and len(jobs) < 3:
                    try:  # the job store creates its table as the scheduler starts
                        jobs = sorted(
                            conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars()
                        )
                    except OperationalError:
                        conn.rollback()
                    if len(jobs) < 3:
                        time.sleep(0.2)
        finally:
            engine.dispose()
        current = period_containing("quarterly", today).label
        assert [(label, status) for label, status, _ in rounds] == [(current, RoundStatus.DRAWN)]
        assert rounds[0][2] is not None
        assert any(line.startswith(f"Oprettet: {plan_name} {current}") for line in stdout)
        assert jobs == sorted(
            [scheduler.RUN_DUE_JOB_ID, scheduler.DELIVER_JOB_ID, scheduler.FEEDBACK_JOB_ID]
        )
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for reader in readers:
            reader.join(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    _wait_for(out_lines, stdout, "\0", 5)  # what is left, up to the end of the stream
    stderr: list[str] = []
    _wait_for(err_lines, stderr, "\0", 5)
    assert returncode == 0, (stdout, stderr)
    assert stdout[-1].strip() == "Planlæggeren er stoppet.", stdout
    log_text = "".join(stderr)
    assert "INFO tilsyn.scheduler: Planlæggeren kører." in log_text, log_text
    assert "INFO tilsyn.scheduler: Planlæggeren er stoppet." in log_text, log_text
    assert "Traceback" not in log_text


def test_scheduler_jobs_log_what_they_did(app, session, org, caplog, monkeypatch):
    today = local_today(app.config)
    setup_catalogue_and_model(session, org)
    org.users["leder"].email = "leder@example.org"
    make_plan(session, org, starts_on=today)
    session.commit()
    monkeypatch.setattr(scheduler, "_app", app)
    with caplog.at_level(logging.INFO, logger="tilsyn"):
        scheduler.run_due_job()
        scheduler.deliver_job()
        scheduler.deliver_job()  # nothing left to send: quiet (DEBUG)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert f"Kørsel for {today:%Y-%m-%d}" in info
    assert any(m.startswith("Oprettet: ") for m in info)
    assert any(m.startswith("Venter: ") for m in info)  # no snapshot: the round waits
    sent = [m for m in info if m.startswith("Mail sendt:")]
    assert sent == ["Mail sendt: 1, fejlet: 0, venter: 0"]


def _run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TILSYN, *args], env=_env(url), capture_output=True, text=True, timeout=300
    )


def test_acceptance_fresh_demo_then_next_quarter_once_then_nothing(temp_db):
    """Fresh database + demo; ``scheduler --once`` on the first day of the next quarter
    creates exactly one round per plan with its draw; again: nothing; two at once: nothing."""
    url, other = temp_db
    today = local_today(other.config)
    with other.app_context():
        build_demo(db.session, seed=11, password="pwpwpwpw", today=today)
        db.session.commit()
        plans = {p.id: p.name for p in db.session.scalars(select(SupervisionPlan))}
        before = db.session.scalar(select(func.count(Round.id)))
    assert len(plans) >= 2
    first_day = next_period("quarterly", period_containing("quarterly", today)).start
    label = period_containing("quarterly", first_day).label
    command = ("scheduler", "--once", "--now", first_day.isoformat())

    first = _run(url, *command)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("Oprettet:") == len(plans), first.stdout
    assert first.stdout.count("Trukket:") == len(plans), first.stdout
    listing = _run(url, "rounds", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    new = [r for r in json.loads(listing.stdout) if r["period"] == label]
    assert sorted(r["plan"] for r in new) == sorted(plans.values())
    assert new
    assert all(r["status"] == RoundStatus.DRAWN and r["draw_id"] and r["sample_size"] for r in new)
    assert len(json.loads(listing.stdout)) == before + len(plans)

    again = _run(url, *command)
    assert again.returncode == 0, again.stderr
    assert "Oprettet:" not in again.stdout and "Trukket:" not in again.stdout

    env = _env(url)
    procs = [
        subprocess.Popen(
            [TILSYN, *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert outputs
    assert all("Oprettet:" not in out and "Trukket:" not in out for out, _ in outputs)
    with other.app_context():
        counts = db.session.execute(
            select(Round.plan_id, func.count(Round.id))
            .where(Round.period_label == label)
            .group_by(Round.plan_id)
        ).all()
        total = db.session.scalar(select(func.count(Round.id)))
    assert sorted(counts) == sorted((plan_id, 1) for plan_id in plans)
    assert total == before + len(plans)
