"""Settings, CLI user creation, audit log and the admin pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tilsyn.audit.models import AuditEvent, AuditLogIsAppendOnly
from tilsyn.auth.models import User
from tilsyn.auth.services import verify_password
from tilsyn.cli import cli
from tilsyn.org.models import Caseworker, Unit
from tilsyn.settings import ConfigurationError, load_settings, normalise_database_url


def test_settings_layering(tmp_path):
    extra = tmp_path / "prod.toml"
    extra.write_text('MAIL_BACKEND = "smtp"\nLOGIN_MAX_FAILURES = 3\n')
    env = {
        "TILSYN_CONFIG": str(extra),
        "TILSYN_LOGIN_MAX_FAILURES": "7",
        "TILSYN_SECRET_KEY": "from-env",
        "DATABASE_URL": "postgres://u:p@db.example/tilsyn",
    }
    settings = load_settings(str(tmp_path), environ=env)
    assert settings["MAIL_BACKEND"] == "smtp"
    assert settings["LOGIN_MAX_FAILURES"] == 7  # env beats file, parsed as TOML
    assert settings["SECRET_KEY"] == "from-env"
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example/tilsyn"


def test_default_database_is_sqlite_under_instance(tmp_path):
    settings = load_settings(str(tmp_path), environ={})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/tilsyn.sqlite"


def test_secret_key_from_instance_file_and_required_in_production(tmp_path):
    with pytest.raises(ConfigurationError):
        load_settings(str(tmp_path), environ={}, overrides={"REQUIRE_SECRET_KEY": True})
    (tmp_path / "secret_key").write_text("k" * 64 + "\n")
    settings = load_settings(str(tmp_path), environ={}, overrides={"REQUIRE_SECRET_KEY": True})
    assert settings["SECRET_KEY"] == "k" * 64


def test_normalise_database_url():
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"
    assert normalise_database_url("postgresql://a/b") == "postgresql+psycopg://a/b"


def test_cli_user_create_reads_password_from_stdin(app, session, org):
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli,
        ["user", "create", "ny.leder", "--role", "teamleder", "--unit", "Team B"],
        input="hemmelig-kode-1\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "ny.leder"))
    assert user is not None and [u.name for u in user.units] == ["Team B"]
    assert verify_password(user.password_hash, "hemmelig-kode-1")
    assert "hemmelig-kode-1" not in result.output


def test_cli_user_create_refuses_bad_scope(app, session, org):
    runner = app.test_cli_runner()
    result = runner.invoke(
        cli, ["user", "create", "x", "--role", "sagsbehandler"], input="hemmelig-kode-1\n"
    )
    assert result.exit_code != 0
    assert "skal knyttes til en sagsbehandler" in result.output
    assert session.scalar(select(User).where(User.username == "x")) is None


def test_audit_log_is_append_only(session, org):
    event = session.scalars(select(AuditEvent)).first() or AuditEvent(
        actor_name="x", action="a", object_type="t"
    )
    session.add(event)
    session.commit()
    event.summary = "ændret"
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    session.rollback()


def test_admin_creates_unit_caseworker_and_user_with_audit(login_as, session, org):
    client = login_as("admin")
    assert (
        client.post("/admin/enheder/ny", data={"name": "Team C", "active": "y"}).status_code == 302
    )
    unit = session.scalar(select(Unit).where(Unit.name == "Team C"))
    assert unit is not None
    response = client.post(
        "/admin/sagsbehandlere/ny",
        data={"initials": "ccx", "name": "Carl C", "unit_id": unit.id, "active": "y"},
    )
    assert response.status_code == 302
    assert session.scalar(select(Caseworker).where(Caseworker.initials == "CCX")) is not None
    response = client.post(
        "/admin/brugere/ny",
        data={
            "username": "carl",
            "display_name": "Carl C",
            "role": "sagsbehandler",
            "caseworker": "CCX",
            "password": "carls-kode-1",
            "active": "y",
        },
    )
    assert response.status_code == 302
    actions = set(
        session.scalars(select(AuditEvent.object_type).where(AuditEvent.actor_name == "admin"))
    )
    assert {"unit", "caseworker", "user"} <= actions


def test_admin_duplicate_unit_gives_danish_message_and_stores_nothing(login_as, session, org):
    client = login_as("admin")
    before = session.scalar(select(func.count()).select_from(Unit))
    html = client.post("/admin/enheder/ny", data={"name": "Team A"}).get_data(as_text=True)
    assert "findes allerede en enhed" in html
    assert session.scalar(select(func.count()).select_from(Unit)) == before


def test_audit_page_filters(login_as, org):
    client = login_as("revisor")
    html = client.get("/revisionslog/?action=login").get_data(as_text=True)
    assert "revisor loggede ind" in html
    html = client.get("/revisionslog/?action=create").get_data(as_text=True)
    assert "revisor loggede ind" not in html


def test_leader_sees_own_units_only(login_as, org):
    html = login_as("leder").get("/mine-teams").get_data(as_text=True)
    assert "Team A" in html and "Team B" not in html


def test_error_pages_are_danish(login_as):
    client = login_as("sagsbehandler")
    assert "Ingen adgang" in client.get("/admin/").get_data(as_text=True)
    assert "Siden findes ikke" in client.get("/findes-ikke").get_data(as_text=True)


def test_factories_password():
    assert verify_password(factories.password_hash(), factories.PASSWORD)
