"""Findings of the outside security and reliability probe (issue 9) that live in the foundation:
sessions, huge ids, date ranges, control characters, form error summaries, e-mail addresses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests import factories
from tests.factories import setup_catalogue_and_model
from tilsyn import formutil
from tilsyn.audit.models import AuditEvent
from tilsyn.auth import services as accounts
from tilsyn.auth import sessions
from tilsyn.auth.models import User
from tilsyn.catalogue.models import Scale
from tilsyn.catalogue.points import load_starter_catalogue
from tilsyn.notifications import services as notifications
from tilsyn.notifications.models import OutboxMessage
from tilsyn.org.models import Caseworker, Unit
from tilsyn.rounds.models import SupervisionPlan

CONTROL_MESSAGE = "Teksten indeholder ugyldige kontroltegn"
DATE_MESSAGE = "Datoen skal ligge mellem 01-01-1900 og 31-12-2199."


def _login(app: Flask, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 302
    return client


def _logged_in(client) -> bool:
    response = client.get("/konto")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


# --- 7: sessions -----------------------------------------------------------------------------


def test_a_cookie_captured_before_logout_is_worthless_after_it(app, session, org):
    client = _login(app, "leder")
    captured = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert not _logged_in(thief)
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "sessions_ended")).all()
    assert len(events) == 1 and "logget ud" in events[0].summary


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(app, session, org):
    here, elsewhere = _login(app, "leder"), _login(app, "leder")
    assert _logged_in(elsewhere)
    response = here.post(
        "/konto",
        data={
            "old_password": factories.PASSWORD,
            "new_password": "et-nyt-kodeord",
            "confirm": "et-nyt-kodeord",
        },
    )
    assert response.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)


@pytest.mark.parametrize("change", ["role", "deactivate", "password", "units"])
def test_admin_changes_to_a_user_end_their_sessions(app, session, org, change):
    victim = _login(app, "leder")
    admin = _login(app, "admin")
    user = org.users["leder"]
    data = {
        "display_name": user.display_name,
        "email": "",
        "role": "teamleder",
        "units": [org.unit_a.name],
        "caseworker": "",
        "active": "y",
    }
    if change == "role":
        data.update(role="direktoer", units=[])
    elif change == "deactivate":
        data.pop("active")
    elif change == "password":
        data["password"] = "nulstillet-kode"
    else:
        data["units"] = [org.unit_a.name, org.unit_b.name]
    assert admin.post(f"/admin/brugere/{user.id}", data=data).status_code == 302
    assert not _logged_in(victim)
    assert _logged_in(admin)
    # Saving a user without such a change leaves their sessions alone.
    if change != "deactivate":
        other = _login(app, "revisor")
        keep = {
            "display_name": "R",
            "email": "",
            "role": "revisor",
            "caseworker": "",
            "active": "y",
        }
        revisor = org.users["revisor"]
        assert admin.post(f"/admin/brugere/{revisor.id}", data=keep).status_code == 302
        assert _logged_in(other)


def test_idle_and_absolute_timeouts(app, session, org):
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    assert app.config["SESSION_MAX_HOURS"] == 12
    now = int(datetime.now(UTC).timestamp())

    idle = _login(app, "leder")
    with idle.session_transaction() as cookie:
        cookie[sessions.SEEN_AT_KEY] = now - 29 * 60
    assert _logged_in(idle)  # 29 minutes idle: still fine, and the request renews it
    with idle.session_transaction() as cookie:
        assert cookie[sessions.SEEN_AT_KEY] >= now
        cookie[sessions.SEEN_AT_KEY] = now - 31 * 60
    response = idle.get("/konto", follow_redirects=True)
    assert "Din session er udløbet" in response.get_data(as_text=True)
    assert not _logged_in(idle)

    old = _login(app, "leder")
    with old.session_transaction() as cookie:
        cookie[sessions.LOGIN_AT_KEY] = now - 12 * 3600 - 60  # active all the time, but 12 h
    assert not _logged_in(old)


def test_timeouts_are_configurable(make_app, session, org):
    other = make_app(SESSION_IDLE_MINUTES=5)
    client = _login(other, "leder")
    with client.session_transaction() as cookie:
        cookie[sessions.SEEN_AT_KEY] -= 6 * 60
    assert not _logged_in(client)


def test_session_check_unit():
    cookie: dict[str, object] = {}
    moment = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    sessions.start(cookie, 3, moment)
    assert sessions.check(cookie, 3, moment + timedelta(minutes=10), 30, 12) is None
    assert sessions.check(cookie, 4, moment, 30, 12) == sessions.REVOKED
    assert sessions.check(cookie, 3, moment + timedelta(minutes=41), 30, 12) == sessions.IDLE
    assert sessions.check({}, 0, moment, 30, 12) == sessions.REVOKED


# --- 8: huge ids and page numbers ------------------------------------------------------------


def test_every_int_route_answers_404_to_an_id_beyond_integer(app, session, org, login_as):
    client = login_as("admin")
    rules = [r for r in app.url_map.iter_rules() if "int" in str(r.rule) and "<int:" in r.rule]
    assert len(rules) >= 20
    for huge in (2**31, 2**63, 10**30):
        for rule in rules:
            url = re.sub(r"<int:[a-z_]+>", str(huge), rule.rule)
            method = "GET" if "GET" in rule.methods else "POST"
            response = client.open(url, method=method)
            assert response.status_code == 404, (url, response.status_code)
    largest = 2**31 - 1  # the largest id an INTEGER column holds: looked up, not found
    assert client.get(f"/admin/enheder/{largest}").status_code == 404


def test_audit_log_clamps_the_page_and_refuses_absurd_dates(session, org, login_as):
    client = login_as("admin")
    response = client.get("/revisionslog/?side=922337203685477580")
    assert response.status_code == 200
    assert "loggede ind" in response.get_data(as_text=True)  # the last page, not an empty one
    for day in ("0001-01-01", "9999-12-31"):
        for field in ("date_from", "date_to"):
            response = client.get(f"/revisionslog/?{field}={day}")
            assert response.status_code == 200
            assert DATE_MESSAGE in response.get_data(as_text=True)
    response = client.get("/revisionslog/?actor=a%00b&action=%00")
    assert response.status_code == 200 and CONTROL_MESSAGE in response.get_data(as_text=True)
    copy = client.get("/kontrolpunkter/skalaer/ny?kopi=99999999999999999999999")
    assert copy.status_code == 200


# --- 9 and 10: dates and control characters in every form ----------------------------------


def _all_form_classes() -> list[type]:
    found, todo = [], [formutil.FlaskForm, formutil.Form]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_form_field_gets_the_date_range_and_the_control_character_rule(app):
    from wtforms.fields import DateField, PasswordField, StringField

    classes = _all_form_classes()
    assert len(classes) >= 15
    dates = texts = 0
    with app.test_request_context():
        for cls in classes:
            form = cls(formdata=None)
            for field in form:
                kinds = {type(v) for v in field.validators}
                if isinstance(field, DateField):
                    dates += 1
                    assert formutil.DateInRange in kinds, (cls, field.name)
                if isinstance(field, StringField) and not isinstance(field, PasswordField):
                    texts += 1
                    assert formutil.NoControlCharacters in kinds, (cls, field.name)
                if isinstance(field, PasswordField):
                    assert formutil.NoControlCharacters not in kinds
    assert dates >= 5 and texts >= 30
    # The class's own validator list is not mutated by binding (no duplicates piling up).
    with app.test_request_context():
        a = formutil.FlaskForm.__subclasses__()[0](formdata=None)
        b = type(a)(formdata=None)
        assert [len(f.validators) for f in a] == [len(f.validators) for f in b]


@pytest.mark.parametrize("text", ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b"])
def test_control_characters_are_refused_and_ordinary_text_is_not(app, text):
    from tilsyn.org.forms import UnitForm

    with app.test_request_context():
        form = UnitForm(MultiDict({"name": text}), meta={"csrf": False})
        assert not form.validate()
        assert CONTROL_MESSAGE in form.name.errors[0]
        ok = UnitForm(MultiDict({"name": "Team Ø – «jobparat»\tå"}), meta={"csrf": False})
        assert ok.validate(), ok.errors


def test_nul_in_a_unit_name_and_an_out_of_range_date_are_refused(session, org, login_as):
    client = login_as("admin")
    response = client.post("/admin/enheder/ny", data={"name": "Team\x00X", "active": "y"})
    assert response.status_code == 200 and CONTROL_MESSAGE in response.get_data(as_text=True)
    assert session.scalar(select(Unit).where(Unit.name.like("Team%X"))) is None
    for day in ("9999-12-31", "0001-01-01"):
        response = client.post(
            "/admin/sagsbehandlere/ny",
            data={
                "initials": "ZZZ",
                "name": "Zoe",
                "unit_id": str(org.unit_a.id),
                "employment_start": day,
            },
        )
        assert response.status_code == 200 and DATE_MESSAGE in response.get_data(as_text=True)
    assert session.scalar(select(Caseworker).where(Caseworker.initials == "ZZZ")) is None


def test_plan_start_and_name_are_checked(session, org, login_as):
    themes = setup_catalogue_and_model(session, org)
    session.commit()
    core = [t for t in themes.values() if t.is_core]
    client = login_as("leder")
    form = {
        "name": "Kvartal Team A",
        "unit_id": str(org.unit_a.id),
        "cadence": "quarterly",
        "per_caseworker": "2",
        "new_caseworker": "4",
        "new_months": "6",
        "lam": "1",
        "exclude_recent_rounds": "1",
        "rotation_mode": "sequence",
        "rotating_per_round": "1",
        "review_weeks": "6",
        "snapshot_max_age_days": "45",
        "active": "y",
        **{f"theme_{t.id}": "core" for t in core},
    }
    for bad in ({"starts_on": "9999-12-31"}, {"starts_on": "0001-01-01"}):
        response = client.post("/tilsyn/planer/ny", data={**form, **bad})
        assert response.status_code == 200
        assert DATE_MESSAGE in response.get_data(as_text=True)
    response = client.post("/tilsyn/planer/ny", data={**form, "name": "Plan\x00"})
    assert response.status_code == 200 and CONTROL_MESSAGE in response.get_data(as_text=True)
    assert session.scalars(select(SupervisionPlan)).all() == []
    response = client.post("/tilsyn/planer/ny", data={**form, "starts_on": "2026-01-01"})
    assert response.status_code == 302


# --- 12: the scale editor's errors --------------------------------------------------------------


def test_scale_editor_errors_are_danish_and_beside_the_field(session, login_as):
    load_starter_catalogue(session, None)
    session.commit()
    client = login_as("leder")
    response = client.post(
        "/kontrolpunkter/skalaer/ny",
        data={
            "code": "lang",
            "name": "Lang",
            "options-0-code": "1",
            "options-0-label": "x" * 201,
            "options-0-outcome": "in_order",
            "options-1-code": "2\x00",
            "options-1-label": "Nej",
            "options-1-outcome": "not_in_order",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "{" not in re.sub(r"<script.*?</script>|<style.*?</style>", "", page, flags=re.S)
    assert "Options" not in page and "&#39;label&#39;" not in page
    assert "Svarmuligheder, række 1, Svarmulighed: " in page
    assert "Svarmuligheder, række 2, Kode: " in page
    assert page.count("invalid-feedback") == 2
    assert (
        'name="options-0-label"' in page
        and 'class="form-control form-control-sm is-invalid' in page
    )
    assert session.scalar(select(Scale).where(Scale.code == "lang")) is None


# --- 14: e-mail addresses -------------------------------------------------------------------


HEADER_INJECTION = "a@b.dk\r\nBcc: x@evil.example"


def test_user_email_is_validated_on_the_form_and_in_the_service(session, org, login_as):
    client = login_as("admin")
    user = org.users["revisor"]
    for bad in (HEADER_INJECTION, "ikke-en-adresse", "Navn <a@b.dk>", "a@b.dk, c@d.dk"):
        response = client.post(
            f"/admin/brugere/{user.id}",
            data={
                "display_name": "R",
                "email": bad,
                "role": "revisor",
                "caseworker": "",
                "active": "y",
            },
        )
        assert response.status_code == 200
        assert "E-mailadressen er ikke gyldig." in response.get_data(as_text=True)
        session.expire_all()
        assert session.get(User, user.id).email is None
    with pytest.raises(accounts.AccountError, match="E-mailadressen er ikke gyldig"):
        accounts.create_user(
            session, None, "ny", "langt-kodeord", "revisor", email=HEADER_INJECTION
        )
    session.rollback()
    made = accounts.create_user(session, None, "ny2", "langt-kodeord", "revisor", email="Ny@B.DK")
    assert made.email == "Ny@b.dk"


def test_no_user_text_reaches_a_mail_header(session):
    with pytest.raises(notifications.NotificationError):
        notifications.enqueue(session, HEADER_INJECTION, "Emne", "Tekst")
    message = notifications.enqueue(
        session, "leder@example.org", "Runde for «Plan\r\nBcc: x@evil.example»", "Tekst"
    )
    assert message.subject == "Runde for «Plan Bcc: x@evil.example»"
    # A row stored before this rule still cannot inject a header when sent.
    stored = OutboxMessage(to=HEADER_INJECTION, subject="x\nBcc: y@evil.example", body="b")
    with pytest.raises(ValueError):
        notifications._build(stored, "tilsyn@example.org")
    stored.to = "ok@example.org"
    email = notifications._build(stored, "tilsyn@example.org")
    assert email["Subject"] == "x Bcc: y@evil.example" and email["Bcc"] is None
