"""The demo municipality: realistic counts, working logins, determinism, the CLI command."""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SADeprecationWarning
from sqlalchemy.orm import Session

import tilsyn.models  # noqa: F401  (registers every table on the metadata)
from tests import factories
from tilsyn import demo as demo_module
from tilsyn.audit.models import AuditEvent
from tilsyn.auth.models import User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.demo import DemoError, DemoSummary, build_demo, canonical_digest, format_summary
from tilsyn.demo_commands import demo as demo_command
from tilsyn.extensions import db
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import Role

TODAY = date(2026, 10, 1)
SEED = 2026
DEMO_PASSWORD = "demo-adgang-1"
SIX_SCHEMES = {
    "sygedagpenge",
    "jobafklaring",
    "ressourceforloeb",
    "fleksjob",
    "ledighedsydelse",
    "kontanthjaelp",
}


@contextmanager
def fresh_session(path: Path) -> Iterator[Session]:
    """A session on a brand-new SQLite database file with the full schema."""
    engine = create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def database_digest(session: Session) -> str:
    """SHA-256 over the organisation and every case row as stored (ids replaced by names)."""
    caseworkers = session.execute(
        select(Caseworker.initials, Caseworker.name, Caseworker.employment_start, Unit.name)
        .join(Unit, Caseworker.unit_id == Unit.id)
        .order_by(Caseworker.initials)
    ).all()
    cases = session.execute(
        select(
            Case.case_ref,
            Caseworker.initials,
            Unit.name,
            Case.team_in_file,
            Case.scheme,
            Case.start_date,
            Case.last_conversation,
            Case.conversations_12m,
            Case.reassessment_due,
            Case.caseworker_changes_12m,
            Case.job_goal,
            Case.cv_on_jobnet,
            Case.weekly_hours,
        )
        .join(Caseworker, Case.caseworker_id == Caseworker.id)
        .join(Unit, Case.unit_id == Unit.id)
        .order_by(Case.case_ref)
    ).all()
    text = repr([tuple(row) for row in caseworkers]) + repr([tuple(row) for row in cases])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Built:
    summary: DemoSummary
    digest: str
    caseworkers: list[tuple[str, str, date | None]]
    caseloads: dict[str, int]
    initials_by_id: dict[int, str]
    cases: list[Case]
    snapshot: Snapshot
    users: dict[str, User]
    leader_units: set[str]
    own_caseworker: tuple[str, str] | None
    system_events: Counter[str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One demo build (seed 2026, as of 1 Oct 2026) in its own database."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    # The base organisation only: registered extensions are exercised by the CLI test.
    with pytest.MonkeyPatch.context() as patch, fresh_session(path) as session:
        patch.setattr(demo_module, "DEMO_EXTENSIONS", [])
        summary = build_demo(session, seed=SEED, password=DEMO_PASSWORD, today=TODAY)
        session.commit()
        caseworkers = [
            (cw.initials, cw.unit.name, cw.employment_start)
            for cw in session.scalars(select(Caseworker))
        ]
        caseloads = dict(
            session.execute(
                select(Caseworker.initials, func.count(Case.id))
                .join(Case, Case.caseworker_id == Caseworker.id)
                .group_by(Caseworker.initials)
            ).all()
        )
        cases = list(session.scalars(select(Case)))
        initials_by_id = {cw.id: cw.initials for cw in session.scalars(select(Caseworker))}
        cw_units = {cw.id: cw.unit_id for cw in session.scalars(select(Caseworker))}
        assert cases
        assert all(case.unit_id == cw_units[case.caseworker_id] for case in cases)
        unit_names = {unit.id: unit.name for unit in session.scalars(select(Unit))}
        assert all(case.team_in_file == unit_names[case.unit_id or 0] for case in cases)
        snapshot = session.scalars(select(Snapshot)).one()
        users = {user.username: user for user in session.scalars(select(User))}
        leader_units = {unit.name for unit in users["leder"].units}
        own = users["sagsbehandler"].caseworker
        own_caseworker = (own.initials, own.unit.name) if own else None
        system_events = Counter(
            session.scalars(select(AuditEvent.object_type).where(AuditEvent.actor_name == "system"))
        )
        digest = database_digest(session)
        session.expunge_all()
    return Built(
        summary,
        digest,
        caseworkers,
        caseloads,
        initials_by_id,
        cases,
        snapshot,
        users,
        leader_units,
        own_caseworker,
        system_events,
    )


def test_organisation_is_realistic(built: Built) -> None:
    teams = {team for _, team, _ in built.caseworkers}
    assert len(teams) >= 5
    assert {"Sygedagpenge Nord", "Sygedagpenge Syd", "Jobafklaring", "Fleksjob"} <= teams
    assert "Ressourceforløb" in teams
    assert len(built.caseworkers) == 45
    assert all(len(initials) == 4 and initials.isupper() for initials, _, _ in built.caseworkers)
    starts = [start for _, _, start in built.caseworkers]
    assert starts
    assert all(start is not None and start <= TODAY for start in starts)
    new = [s for s in starts if s is not None and (TODAY - s).days < 183]
    assert 6 <= len(new) <= 8
    assert built.summary.new_caseworkers == len(new)
    years = {s.year for s in starts if s is not None}
    assert len(years) >= 6  # employment starts spread over years
    loads = list(built.caseloads.values())
    assert len(loads) == 45
    assert min(loads) >= 30
    assert max(loads) <= 120
    assert max(loads) - min(loads) >= 50
    # Teams differ in size like the example export (487-773 cases per team of nine).
    team_of = {initials: team for initials, team, _ in built.caseworkers}
    per_team = Counter()
    for initials, load in built.caseloads.items():
        per_team[team_of[initials]] += load
    assert sum(per_team.values()) == 3000
    assert max(per_team.values()) - min(per_team.values()) >= 200
    assert min(per_team.values()) >= 430 and max(per_team.values()) <= 850


def test_cases_follow_the_example_export(built: Built) -> None:
    cases = built.cases
    assert len(cases) == 3000 == built.snapshot.row_count == built.summary.total_cases
    per_scheme = Counter(case.scheme for case in cases)
    assert set(per_scheme) == SIX_SCHEMES
    assert per_scheme.values()
    assert all(count >= 150 for count in per_scheme.values())
    assert dict(per_scheme) == built.summary.cases_per_scheme
    missing_due = sum(case.reassessment_due is None for case in cases) / len(cases)
    assert 0.25 <= missing_due <= 0.35
    assert cases
    assert all((case.weekly_hours is not None) == (case.scheme == "fleksjob") for case in cases)
    assert all(4 <= (case.weekly_hours or 4) <= 21 for case in cases)
    assert all(case.start_date <= TODAY for case in cases)
    assert all(
        case.last_conversation is not None and case.start_date <= case.last_conversation <= TODAY
        for case in cases
    )
    conversations = Counter(case.conversations_12m for case in cases)
    assert set(conversations) <= set(range(13))
    assert conversations[0] > 100
    assert conversations[6] > 100
    changes = Counter(case.caseworker_changes_12m for case in cases)
    assert 0.65 <= changes[0] / len(cases) <= 0.85
    assert changes[1] > changes[2] > 0
    job_goal = sum(bool(case.job_goal) for case in cases) / len(cases)
    cv = sum(bool(case.cv_on_jobnet) for case in cases) / len(cases)
    assert 0.38 <= job_goal <= 0.55
    assert 0.6 <= cv <= 0.78
    older_than_a_year = sum((TODAY - case.start_date).days > 365 for case in cases)
    assert 0.15 <= older_than_a_year / len(cases) <= 0.4
    assert len({case.case_ref for case in cases}) == len(cases)


def test_snapshot_users_and_audit(built: Built) -> None:
    snapshot = built.snapshot
    assert snapshot.as_of == TODAY
    assert snapshot.source_filename == "demo (syntetisk)"
    assert snapshot.mapping_name == "demo"
    assert len(snapshot.sha256) == 64
    assert snapshot.sha256 == built.summary.sha256
    roles = {name: user.role for name, user in built.users.items()}
    assert roles == {
        "admin": Role.ADMIN,
        "leder": Role.TEAMLEDER,
        "sagsbehandler": Role.SAGSBEHANDLER,
        "direktoer": Role.DIREKTOER,
        "revisor": Role.REVISOR,
    }
    assert {"Sygedagpenge Nord", "Sygedagpenge Syd"} <= built.leader_units
    assert built.own_caseworker is not None
    initials, team = built.own_caseworker
    assert team in built.leader_units
    assert built.caseloads[initials] >= 30
    # Organisation and users are created through the audited services by the system.
    assert built.system_events["unit"] == 5
    assert built.system_events["caseworker"] == 45
    assert built.system_events["user"] == 5
    assert built.system_events["snapshot"] == 1
    text = format_summary(built.summary)
    assert "Sagsbehandlere: 45" in text
    assert "Åbne sager i udtrækket: 3.000" in text
    assert f"leder / {DEMO_PASSWORD}" in text
    assert built.summary.users
    assert all(user.password == DEMO_PASSWORD for user in built.summary.users)
    # Every demo user has an address, so notifications in the demo reach someone.
    assert {name: user.email for name, user in built.users.items()} == {
        name: f"{name}@demo.tilsyn.example" for name in built.users
    }
    assert "leder@demo.tilsyn.example" in text


def test_canonical_digest_depends_on_content() -> None:
    row: dict[str, Any] = {"case_ref": "S-2026-000001", "start_date": TODAY, "scheme": "fleksjob"}
    same = dict(reversed(list(row.items())))
    assert canonical_digest([row]) == canonical_digest([same])
    assert canonical_digest([row]) != canonical_digest(
        [{**row, "start_date": TODAY.replace(day=2)}]
    )


extension_calls: list[tuple[str, date, float]] = []


def recording_extension(
    session: Session, actor: User, rng: np.random.Generator, today: date
) -> None:
    """A demo extension used by the test below (registered by dotted path)."""
    extension_calls.append((actor.username, today, float(rng.random())))


def test_same_seed_same_rows_and_extensions_run(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "tests.test_demo:recording_extension"
    monkeypatch.setattr(demo_module, "DEMO_EXTENSIONS", [path])
    extension_calls.clear()
    with fresh_session(tmp_path / "again.sqlite") as session:
        summary = build_demo(session, seed=SEED, today=TODAY)
        session.commit()
        again = database_digest(session)
    # An extension does not disturb the base organisation's random numbers.
    assert again == built.digest
    assert summary.sha256 == built.summary.sha256
    assert summary.extensions == (path,)
    expected = float(demo_module.extension_rng(SEED, path).random())
    assert extension_calls == [("admin", TODAY, expected)]
    # Without --password every user gets its own readable random password.
    passwords = [user.password for user in summary.users]
    assert len(set(passwords)) == len(passwords)
    assert passwords
    assert all(len(pw) >= 12 for pw in passwords)


def test_different_seed_gives_different_rows(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_module, "DEMO_EXTENSIONS", [])
    with fresh_session(tmp_path / "other.sqlite") as session:
        build_demo(session, seed=SEED + 1, password=DEMO_PASSWORD, today=TODAY)
        session.commit()
        other = database_digest(session)
    assert other != built.digest


def test_bad_extension_path_is_refused() -> None:
    with pytest.raises(DemoError, match="modul:funktion"):
        demo_module._resolve("tests.test_demo.recording_extension")
    with pytest.raises(DemoError, match="findes ikke"):
        demo_module._resolve("tests.test_demo:no_such_function")


def test_refuses_non_empty_database(session: Session, org: factories.Org) -> None:
    with pytest.raises(DemoError, match="ikke tom"):
        build_demo(session, seed=SEED, password=DEMO_PASSWORD, today=TODAY)


def test_cli_builds_demo_and_every_role_can_log_in(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    result = app.test_cli_runner().invoke(demo_command, ["--seed", "7", "--password", "abc12345"])
    assert result.exit_code == 0, result.output
    assert "Sagsbehandlere: 45" in result.output
    assert "admin / abc12345" in result.output
    # Internal hook names ("tilsyn.rounds.demo:add_demo_rounds") are not for the newcomer.
    assert demo_module.DEMO_EXTENSIONS
    for path in demo_module.DEMO_EXTENSIONS:
        assert path not in result.output
    assert "Udvidelser" not in result.output
    snapshot = session.scalars(
        select(Snapshot).where(Snapshot.source_filename == "demo (syntetisk)")
    ).one()
    assert snapshot.as_of == date.today()
    assert snapshot.row_count == 3000
    count = select(func.count()).select_from(Case).where(Case.snapshot_id == snapshot.id)
    assert session.scalar(count) == 3000
    expected = {
        "admin": "/admin/",
        "leder": "/mine-teams",
        "sagsbehandler": "/mine-sager",
        "direktoer": "/overblik",
    }
    for username in ("admin", "leder", "sagsbehandler", "direktoer", "revisor"):
        bad = client.post("/login", data={"username": username, "password": "forkert-kode"})
        assert bad.status_code == 200
        response = client.post("/login", data={"username": username, "password": "abc12345"})
        assert response.status_code == 302, username
        location = response.headers["Location"]
        assert "/login" not in location
        if username in expected:
            assert location == expected[username]
        with warnings.catch_warnings():
            # tilsyn.core.services uses Result.tuples(), deprecated in SQLAlchemy 2.1.
            warnings.simplefilter("ignore", SADeprecationWarning)
            page = client.get(location)
        assert page.status_code == 200, (username, location)
        client.post("/logout")


def test_cli_if_empty_does_nothing_on_non_empty_database(
    app: Flask, session: Session, org: factories.Org
) -> None:
    result = app.test_cli_runner().invoke(demo_command, ["--if-empty"])
    assert result.exit_code == 0
    assert "allerede brugere" in result.output
    # ... and says how to start over when the logins printed the first time are lost.
    assert "tilsyn demo --reset" in result.output
    assert session.scalar(select(func.count()).select_from(Unit)) == 2
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_cli_refuses_non_empty_database(app: Flask, session: Session, org: factories.Org) -> None:
    result = app.test_cli_runner().invoke(demo_command, ["--password", "abc12345"])
    assert result.exit_code == 1
    assert "ikke tom" in result.output
    assert session.scalar(select(func.count()).select_from(Caseworker)) == 4
    assert session.scalar(select(func.count()).select_from(User)) == 6


def test_cli_rolls_back_on_weak_password(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(demo_command, ["--password", "kort"])
    assert result.exit_code == 1
    assert "mindst 8 tegn" in result.output
    assert session.scalar(select(func.count()).select_from(Unit)) == 0
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_cases_of_recent_hires_record_a_caseworker_change(built: Built) -> None:
    starts = {initials: start for initials, _, start in built.caseworkers}
    handed_over = [
        case
        for case in built.cases
        if (start := starts[built.initials_by_id[case.caseworker_id]]) is not None
        and (TODAY - start).days < 365
        and case.start_date < start
    ]
    assert len(handed_over) > 50
    assert all((case.caseworker_changes_12m or 0) >= 1 for case in handed_over)


def full_digest(session: Session) -> str:
    """The organisation and cases (``database_digest``) plus users, plans, rounds and draws."""
    from tilsyn.rounds.models import Round, SupervisionPlan
    from tilsyn.sampling.models import Draw, DrawItem

    users = session.execute(
        select(User.username, User.role, User.display_name, User.email).order_by(User.username)
    ).all()
    plans = session.execute(select(SupervisionPlan.name).order_by(SupervisionPlan.name)).all()
    rounds = session.execute(
        select(SupervisionPlan.name, Round.period_label, Round.status)
        .join(SupervisionPlan, Round.plan_id == SupervisionPlan.id)
        .order_by(SupervisionPlan.name, Round.period_label)
    ).all()
    draws = session.execute(
        select(Draw.seed, Draw.sample_size).order_by(Draw.seed, Draw.sample_size)
    ).all()
    items = session.execute(select(DrawItem.case_ref).order_by(DrawItem.case_ref)).all()
    text = database_digest(session) + repr(
        [[tuple(row) for row in rows] for rows in (users, plans, rounds, draws, items)]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cli_demo(path: Path, *args: str) -> tuple[str, date]:
    """Run ``tilsyn demo ARGS`` (with every registered extension) on a new database file."""
    from tilsyn import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(demo_command, [*args, "--password", "abc12345"])
        assert result.exit_code == 0, result.output
        digest = full_digest(db.session)
        as_of = db.session.scalars(select(Snapshot.as_of)).one()
        db.session.remove()
        db.engine.dispose()
    return digest, as_of


def test_seed_and_as_of_fix_the_whole_demo(tmp_path: Path) -> None:
    first, as_of = _cli_demo(tmp_path / "a.sqlite", "--seed", "11", "--as-of", "2025-03-31")
    again, _ = _cli_demo(tmp_path / "b.sqlite", "--seed", "11", "--as-of", "2025-03-31")
    other, _ = _cli_demo(tmp_path / "c.sqlite", "--seed", "12", "--as-of", "2025-03-31")
    assert as_of == date(2025, 3, 31)
    assert first == again
    assert first != other


def test_as_of_must_be_a_date(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(demo_command, ["--as-of", "31-03-2025"])
    assert result.exit_code == 2
    assert session.scalar(select(func.count()).select_from(Unit)) == 0


def test_demo_export_writes_the_demo_cases_as_a_case_system_export(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    out = tmp_path / "udtraek.csv"
    args = ["export", "--output", str(out), "--seed", str(SEED), "--as-of", TODAY.isoformat()]
    result = app.test_cli_runner().invoke(demo_command, args)
    assert result.exit_code == 0, result.output
    assert "3000 sager, 45 sagsbehandlere, 5 teams" in result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfSags-ID;Sagsbehandler;")
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == 3001
    # Danish conventions: dd-mm-yyyy dates, Ja/Nej, decimal comma.
    cells = lines[1].split(";")
    assert len(cells) == 13 and cells[5].count("-") == 2 and len(cells[5]) == 10
    assert {c for line in lines[1:] for c in line.split(";")[10:12]} == {"Ja", "Nej"}
    # The export holds the very cases the demo database gets with the same seed and date.
    built = build_demo(session, seed=SEED, password=DEMO_PASSWORD, today=TODAY)
    refs = set(session.scalars(select(Case.case_ref).where(Case.snapshot_id == built.snapshot_id)))
    assert refs == {line.split(";")[0] for line in lines[1:]}
    # Nothing was written by the export itself (the database only holds the demo built above).
    assert session.scalar(select(func.count()).select_from(Snapshot)) == 1
