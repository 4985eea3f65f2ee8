"""Settings, CLI user creation, audit log and the admin pages."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests import factories
from tilsyn.audit import services as audit
from tilsyn.audit.models import AuditEvent, AuditLogIsAppendOnly
from tilsyn.auth.models import User
from tilsyn.auth.services import verify_password
from tilsyn.cli import cli
from tilsyn.errors import ServiceError, get_or_raise
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


def test_audit_times_are_local_and_date_filters_use_local_days(login_as, session, org):
    # 22:30 UTC on 30 June is 00:30 on 1 July in Copenhagen (summer time).
    session.add(
        AuditEvent(
            at=datetime(2026, 6, 30, 22, 30),
            actor_name="system",
            action="view",
            object_type="case_risk",
            object_id="17",
            summary="Natlig visning",
        )
    )
    session.commit()
    client = login_as("revisor")
    html = client.get("/revisionslog/?date_from=2026-07-01&date_to=2026-07-01").get_data(
        as_text=True
    )
    assert "Natlig visning" in html
    assert "01-07-2026 00:30" in html
    assert "Tidspunkt (dansk tid)" in html and "UTC" not in html
    html = client.get("/revisionslog/?date_from=2026-06-30&date_to=2026-06-30").get_data(
        as_text=True
    )
    assert "Natlig visning" not in html
    # Winter time: 23:15 UTC on 31 January is 00:15 on 1 February.
    session.add(
        AuditEvent(
            at=datetime(2026, 1, 31, 23, 15),
            actor_name="system",
            action="view",
            object_type="own_cases",
            summary="Vintervisning",
        )
    )
    session.commit()
    html = client.get("/revisionslog/?date_to=2026-01-31").get_data(as_text=True)
    assert "Vintervisning" not in html
    html = client.get("/revisionslog/?date_from=2026-02-01&date_to=2026-02-01").get_data(
        as_text=True
    )
    assert "Vintervisning" in html and "01-02-2026 00:15" in html


def test_audit_actions_and_object_types_have_labels(login_as, session, org):
    session.add(
        AuditEvent(actor_name="system", action="view", object_type="case_risk", summary="a")
    )
    session.add(
        AuditEvent(
            actor_name="system", action="frobnicate_widget", object_type="gizmo_part", summary="b"
        )
    )
    session.commit()
    html = login_as("admin").get("/revisionslog/").get_data(as_text=True)
    table = html.split("<tbody>", 1)[1]
    assert "<td>Vist</td>" in table and "Risikofaktorer for sag" in table
    assert "<td>Logget ind</td>" in table
    assert "<td>Frobnicate widget</td>" in table and "Gizmo part" in table
    assert ">view<" not in table and "case_risk" not in table
    form = html.split('<form method="get"', 1)[1].split("</form>", 1)[0]
    assert '<option value="view">Vist</option>' in form
    assert '<option value="case_risk">Risikofaktorer for sag</option>' in form
    assert '<option value="frobnicate_widget">Frobnicate widget</option>' in form
    # Filtering by the code still works.
    html = login_as("admin").get("/revisionslog/?action=frobnicate_widget").get_data(as_text=True)
    assert "<td>Frobnicate widget</td>" in html and "<td>Vist</td>" not in html


def test_audit_date_filter_errors_are_danish(login_as):
    html = login_as("revisor").get("/revisionslog/?date_from=31-02-2026").get_data(as_text=True)
    assert "Ikke en gyldig dato." in html


@pytest.mark.postgresql_only
def test_audit_log_refuses_raw_update_and_delete_on_postgresql(session, org):
    session.add(AuditEvent(actor_name="system", action="view", object_type="own_cases"))
    session.commit()
    for statement in (
        "UPDATE audit_events SET summary = 'ændret'",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(DBAPIError, match="Revisionsloggen kan ikke ændres"):
            session.execute(text(statement))
        session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) >= 1


def test_admin_user_form_keeps_the_username_read_only(login_as, session, org):
    client = login_as("admin")
    leder = org.users["leder"]
    page = client.get(f"/admin/brugere/{leder.id}").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="username"[^>]*>', page)
    assert field is not None
    assert " disabled " in field.group(0) and 'value="leder"' in field.group(0)
    data = {
        "display_name": "Karin Ny",
        "role": "teamleder",
        "units": ["Team A"],
        "caseworker": "",
        "active": "y",
    }
    # What a browser sends: no username (disabled fields are not submitted).
    assert client.post(f"/admin/brugere/{leder.id}", data=data).status_code == 302
    session.expire_all()
    assert session.get(User, leder.id).display_name == "Karin Ny"
    # A forged username is refused, with a Danish message, and nothing changes.
    response = client.post(
        f"/admin/brugere/{leder.id}", data={**data, "username": "ny.leder", "display_name": "X"}
    )
    assert response.status_code == 200
    assert "Feltet er låst" in response.get_data(as_text=True)
    session.expire_all()
    user = session.get(User, leder.id)
    assert (user.username, user.display_name) == ("leder", "Karin Ny")
    # Creating a user still takes a username.
    page = client.get("/admin/brugere/ny").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="username"[^>]*>', page)
    assert field is not None and "disabled" not in field.group(0)


def test_admin_has_the_team_pages_for_every_unit(login_as, org):
    html = login_as("admin").get("/mine-teams").get_data(as_text=True)
    assert "Team A" in html and "Team B" in html
    assert f'href="/mine-teams/{org.unit_b.id}"' in html
    assert "Mine teams" in html  # in the menu, too


def test_leader_home_counts_are_grammatical(login_as, session, org):
    from datetime import date, timedelta

    from tests.factories import make_caseworker

    # Team A: AAA (2020) and one caseworker hired a month ago; Team B: BBA, BBB (2020) plus two new.
    org.cw_a2.employment_start = date.today() - timedelta(days=30)
    make_caseworker(session, "BBC", org.unit_b, start=date.today() - timedelta(days=10))
    make_caseworker(session, "BBD", org.unit_b, start=date.today() - timedelta(days=20))
    org.cw_a1.active = False
    session.commit()
    html = login_as("admin").get("/mine-teams").get_data(as_text=True)
    team_a = html.split("Team A", 1)[1].split("</section>", 1)[0]
    team_b = html.split("Team B", 1)[1].split("</section>", 1)[0]
    assert "1 aktiv sagsbehandler, heraf 1 nyansat (under 6 måneder)" in team_a
    assert "0 åbne sager" in team_a
    assert "4 aktive sagsbehandlere, heraf 2 nyansatte (under 6 måneder)" in team_b


def test_team_page_lists_caseworkers_with_caseloads(login_as, session, org):
    from tests.factories import make_snapshot

    make_snapshot(
        session,
        [{"caseworker_id": org.cw_a1.id, "unit_id": org.unit_a.id}] * 3
        + [{"caseworker_id": org.cw_b1.id, "unit_id": org.unit_b.id}],
    )
    session.commit()
    html = login_as("leder").get(f"/mine-teams/{org.unit_a.id}").get_data(as_text=True)
    assert "AAA" in html and "AAB" in html and "BBA" not in html
    assert "3 åbne sager i alt" in html


def test_tabular_csv_neutralises_formulas_but_keeps_numbers() -> None:
    from datetime import date as _date

    from tilsyn import tabular

    rows = [
        ["=1+1", "@SUM(1)", "+45", "-3", "\tx", "\rx", '=HYPERLINK("http://x")'],
        [-3, -2.5, 0, True, None, _date(2026, 1, 2), "Anne"],
    ]
    text = tabular.csv_bytes(["-Kolonne", "B", "C", "D", "E", "F", "G"], rows).decode("utf-8")
    lines = text.split("\r\n")
    assert text.startswith("\ufeff'-Kolonne;B;")
    assert lines[1].split(";")[:4] == ["'=1+1", "'@SUM(1)", "'+45", "'-3"]
    assert lines[1].count("'") == 7  # every formula-like text cell, including tab and CR
    assert lines[2] == "-3;-2,5;0;Ja;;02-01-2026;Anne"


def test_get_or_raise_returns_the_row_or_raises_the_given_error(session, org):
    assert get_or_raise(session, Unit, org.unit_a.id, ServiceError("nej")) is org.unit_a
    with pytest.raises(ServiceError, match="Enheden findes ikke"):
        get_or_raise(session, Unit, 10**6, ServiceError("Enheden findes ikke"))


def test_record_save_flushes_a_new_row_and_records_create_or_update(session, org):
    admin = org.users["admin"]
    unit = Unit(name="Team Ny", active=True)
    session.add(unit)
    created = audit.record_save(session, admin, True, "unit", unit, "Enhed Team Ny")
    assert unit.id is not None
    assert (created.action, created.object_type, created.object_id) == (
        "create",
        "unit",
        str(unit.id),
    )
    assert created.actor_name == "admin" and created.summary == "Enhed Team Ny"
    changed = audit.record_save(session, None, False, "unit", unit, details={"a": 1})
    assert (changed.action, changed.actor_name, changed.details) == ("update", "system", {"a": 1})
