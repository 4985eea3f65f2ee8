"""Who may see and do what, role by role, written by hand from the roles table in the README.

These tests speak of behaviour (a role holds a permission; a user may or may not see a
caseworker's cases, a unit, a round's review pages), not of how ``tilsyn.permissions`` is built,
so they hold when its functions change shape. Route by route access is in ``tests/test_access.py``.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from flask import Flask
from flask_login import login_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, Org, make_plan_row, make_round, make_user
from tilsyn import permissions
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import can

ROLES = ("admin", "leder", "sagsbehandler", "direktoer", "revisor")
LEADERS = {"admin", "leder"}
ORG_WIDE = {"admin", "direktoer", "revisor"}

#: permission -> the users (of the ``org`` fixture) holding it, by hand from the README's roles.
HOLDERS: dict[str, set[str]] = {
    "account.use": set(ROLES),
    "admin.manage": {"admin"},
    "audit.view": {"admin", "revisor"},
    "org.overview": {"admin", "direktoer"},
    "leader.home": LEADERS,
    "own.view": {"sagsbehandler"},
    "snapshots.view": LEADERS | {"direktoer", "revisor"},
    # imports replace the population: administrators only (docs/import.md)
    "cases.import": {"admin"},
    # case-level rows: never the director or the auditor
    "cases.view": LEADERS | {"sagsbehandler"},
    "risk.view": LEADERS | {"direktoer", "revisor"},
    "risk.edit": LEADERS,
    "risk.approve": LEADERS,
    "sampling.view": LEADERS | {"revisor"},
    "sampling.draw": LEADERS,
    "catalogue.view": set(ROLES),
    "catalogue.edit": LEADERS,
    "plans.view": LEADERS | {"direktoer", "revisor"},
    "plans.edit": LEADERS,
    "rounds.view": LEADERS | {"direktoer", "revisor"},
    "rounds.manage": LEADERS,
    "reviews.view": LEADERS,
    "reviews.record": LEADERS,
    # feedback: own rows for caseworkers, counts for directors, dates for the auditor
    "feedback.own": {"sagsbehandler"},
    "feedback.comment": LEADERS | {"sagsbehandler"},
    "actions.done": LEADERS | {"sagsbehandler"},
    "feedback.manage": LEADERS,
    "feedback.overview": LEADERS | {"direktoer", "revisor"},
    "feedback.register": {"admin", "revisor"},
    # review quality and calibration: aggregates; second reviews by leaders
    "quality.view": LEADERS | {"direktoer", "revisor"},
    "quality.calibration": LEADERS | {"revisor"},
    "quality.calibrate": LEADERS,
    # results: aggregates for all but caseworkers; the answers behind them (case refs) leaders
    "results.view": LEADERS | {"direktoer", "revisor"},
    "results.answers": LEADERS,
}


def test_every_permission_is_held_by_exactly_the_expected_roles(org: Org) -> None:
    assert set(HOLDERS) == set(permissions.PERMISSIONS)
    for permission, holders in HOLDERS.items():
        got = {name for name in ROLES if can(permission, user=org.users[name])}
        assert got == holders, permission
    assert not can("no.such.permission", user=org.users["admin"])


def test_directors_and_auditors_see_no_case_level_rows(org: Org) -> None:
    for name in ("direktoer", "revisor"):
        user = org.users[name]
        for permission in ("cases.view", "reviews.view", "reviews.record", "own.view"):
            assert not can(permission, user=user), (name, permission)
        for cw in (org.cw_a1, org.cw_b1):
            assert not permissions.can_see_caseworker(user, cw)
            assert not can("cases.view", cw, user=user)
            assert not permissions.can_view_reviews(user, cw)
            assert not permissions.can_record_reviews(user, cw)


def _caseworkers(org: Org) -> dict[str, Caseworker]:
    return {cw.initials: cw for cw in (org.cw_a1, org.cw_a2, org.cw_b1, org.cw_b2)}


#: user -> initials of the caseworkers whose cases they may see
CASE_SCOPE = {
    "admin": {"AAA", "AAB", "BBA", "BBB"},
    "leder": {"AAA", "AAB"},
    "sagsbehandler": {"AAA"},
    "sagsbehandler2": {"BBA"},
    "direktoer": set(),
    "revisor": set(),
}


@pytest.mark.parametrize("name", sorted(CASE_SCOPE))
def test_case_level_data_is_scoped_by_caseworker(session: Session, org: Org, name: str) -> None:
    user = org.users[name]
    cws = _caseworkers(org)
    seen = {i for i, cw in cws.items() if permissions.can_see_caseworker(user, cw)}
    assert seen == CASE_SCOPE[name]
    assert {i for i, cw in cws.items() if can("cases.view", cw, user=user)} == CASE_SCOPE[name]
    # the SQL form lists the same caseworkers
    listed = set(
        session.scalars(select(Caseworker.initials).where(permissions.caseworker_filter(user)))
    )
    assert listed == CASE_SCOPE[name]
    # reviews: the leaders only, within the same scope
    reviewable = {i for i, cw in cws.items() if permissions.can_record_reviews(user, cw)}
    readable = {i for i, cw in cws.items() if permissions.can_view_reviews(user, cw)}
    expected = CASE_SCOPE[name] if name in LEADERS else set()
    assert reviewable == readable == expected
    assert {i for i, cw in cws.items() if can("reviews.record", cw, user=user)} == expected


#: user -> units whose pages and aggregates they may see; and the units they may manage
UNIT_SCOPE = {
    "admin": ({"Team A", "Team B"}, {"Team A", "Team B"}),
    "leder": ({"Team A"}, {"Team A"}),
    "sagsbehandler": (set(), set()),
    "direktoer": ({"Team A", "Team B"}, set()),
    "revisor": ({"Team A", "Team B"}, set()),
}


@pytest.mark.parametrize("name", sorted(UNIT_SCOPE))
def test_units_are_scoped(session: Session, org: Org, name: str) -> None:
    user = org.users[name]
    units = (org.unit_a, org.unit_b)
    visible, managed = UNIT_SCOPE[name]
    assert {u.name for u in units if permissions.can_see_unit(user, u)} == visible
    assert {u.name for u in units if can("leader.home", u, user=user)} == managed
    assert set(session.scalars(select(Unit.name).where(permissions.unit_filter(user)))) == managed
    expected_overview = visible if name in {"admin", "direktoer"} else set()
    assert {u.name for u in units if can("org.overview", u, user=user)} == expected_overview


def test_a_leader_without_units_and_an_unlinked_caseworker_see_nothing(
    session: Session, org: Org
) -> None:
    lonely_leader = make_user(session, "tomleder", "teamleder")
    unlinked = make_user(session, "loes", "sagsbehandler")
    for user in (lonely_leader, unlinked):
        assert not any(
            permissions.can_see_caseworker(user, cw) for cw in _caseworkers(org).values()
        )
        assert (
            session.scalars(select(Caseworker).where(permissions.caseworker_filter(user))).all()
            == []
        )
        assert session.scalars(select(Unit).where(permissions.unit_filter(user))).all() == []
        assert not permissions.can_see_unit(user, org.unit_a)


def test_a_caseworker_link_gives_case_rows_only_to_caseworkers(session: Session, org: Org) -> None:
    """Case-level rows follow the role: a director or auditor account that happens to be linked
    to a caseworker still sees no cases."""
    for role, cw in (("direktoer", org.cw_a2), ("revisor", org.cw_b2)):
        user = make_user(session, f"{role}-linked", role, caseworker=cw)
        assert not permissions.can_see_caseworker(user, cw)
        listed = session.scalars(select(Caseworker).where(permissions.caseworker_filter(user)))
        assert listed.all() == []


def test_unknown_roles_and_anonymous_users_hold_nothing(org: Org) -> None:
    strangers = [
        SimpleNamespace(is_authenticated=True, role="superuser", unit_ids={org.unit_a.id}),
        SimpleNamespace(is_authenticated=False, role="admin", unit_ids=set()),
        SimpleNamespace(role="admin", unit_ids=set()),  # not a login at all
    ]
    for user in strangers:
        assert permissions.role_of(user) is None
        assert not any(can(p, user=user) for p in HOLDERS)
        assert not permissions.can_see_caseworker(user, org.cw_a1)
        assert not permissions.can_see_unit(user, org.unit_a)


def test_can_asks_about_the_logged_in_user_by_default(app: Flask, org: Org) -> None:
    with app.test_request_context():
        assert not can("account.use")  # nobody logged in
        login_user(org.users["leder"])
        assert can("risk.edit") and not can("admin.manage")
        assert can("cases.view", org.cw_a1) and not can("cases.view", org.cw_b1)
        assert can("leader.home", org.unit_a) and not can("leader.home", org.unit_b)


def _round_of(session: Session, unit_id: int | None):
    plan = make_plan_row(session, f"Plan {unit_id}", unit_id)
    return make_round(session, plan, None, [])


def test_only_leaders_open_the_review_pages_of_their_rounds(session: Session, org: Org) -> None:
    own, foreign, whole = (_round_of(session, u) for u in (org.unit_a.id, org.unit_b.id, None))
    opens = {
        name: {
            label
            for label, rnd in (("own", own), ("foreign", foreign), ("whole", whole))
            if permissions.can_open_round_reviews(org.users[name], rnd)
        }
        for name in ROLES
    }
    assert opens == {
        "admin": {"own", "foreign", "whole"},
        "leder": {"own", "whole"},
        "sagsbehandler": set(),
        "direktoer": set(),  # they may see the round, not its review pages
        "revisor": set(),
    }
    assert permissions.can_open_round_reviews(None, foreign)  # the system


def test_the_system_may_record_and_read_every_review(org: Org) -> None:
    """The scheduler and the CLI act without a user (``None``)."""
    for cw in _caseworkers(org).values():
        assert permissions.can_record_reviews(None, cw)
        assert permissions.can_view_reviews(None, cw)


def test_round_progress_counts_cover_the_right_caseworkers(session: Session, org: Org) -> None:
    def counted(user: object) -> set[str]:
        condition = permissions.round_caseworker_filter(user)
        return set(session.scalars(select(Caseworker.initials).where(condition)))

    everyone = CASE_SCOPE["admin"]
    assert counted(org.users["leder"]) == {"AAA", "AAB"}
    for name in ("admin", "direktoer", "revisor"):
        assert counted(org.users[name]) == everyone
    assert counted(None) == everyone


def test_draw_records_are_scoped(session: Session, org: Org) -> None:
    def listed(user: object) -> set[str]:
        condition = permissions.draw_item_filter(user)
        return set(session.scalars(select(Caseworker.initials).where(condition)))

    everyone = CASE_SCOPE["admin"]
    assert listed(org.users["revisor"]) == listed(org.users["admin"]) == listed(None) == everyone
    assert listed(org.users["leder"]) == {"AAA", "AAB"}
    assert listed(org.users["direktoer"]) == set()
    assert permissions.draw_unit_scope(None) is None
    assert permissions.draw_unit_scope(org.users["admin"]) is None
    assert permissions.draw_unit_scope(org.users["leder"]) == [org.unit_a.id]
    assert permissions.draw_unit_scope(org.users["direktoer"]) == []


def test_only_leaders_plan(org: Org) -> None:
    plan_a = SimpleNamespace(unit_id=org.unit_a.id)
    for name in ("sagsbehandler", "direktoer", "revisor"):
        user = org.users[name]
        assert not permissions.can_plan_for_unit(user, org.unit_a.id)
        assert not permissions.can_manage_plan(user, None)
        assert not permissions.can_manage_plan(user, plan_a)
        assert not permissions.can_plan_org_wide(user)
    leader = org.users["leder"]
    assert permissions.can_manage_plan(leader, None)  # a new plan for one of their units
    assert permissions.can_manage_plan(leader, plan_a)
    assert not permissions.can_plan_for_unit(leader, None)
    assert permissions.can_plan_for_unit(None, None) and permissions.can_manage_plan(None, plan_a)
    assert permissions.can_see_plan(None, plan_a)


#: Where each role lands after logging in, and the role's name on screen (README, roles table).
LANDING = {
    "admin": ("/admin", "Administrator"),
    "leder": ("/mine-teams", "Teamleder"),
    "sagsbehandler": ("/mine-sager", "Sagsbehandler"),
    "direktoer": ("/overblik", "Direktør"),
    "revisor": ("/risiko", "Revisor"),
}


@pytest.mark.parametrize("name", sorted(LANDING))
def test_each_role_lands_on_its_start_page_under_its_name(client, org: Org, name: str) -> None:
    path, label = LANDING[name]
    response = client.post("/login", data={"username": name, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].rstrip("/").endswith(path)
    assert f"({label})" in client.get("/konto").get_data(as_text=True)


def test_anonymous_users_start_at_the_login_page(app: Flask) -> None:
    with app.test_request_context():
        anonymous = SimpleNamespace(is_authenticated=False, role="admin")
        assert permissions.start_endpoint(anonymous) == "auth.login"


def test_without_its_start_page_a_role_lands_on_its_account(org: Org) -> None:
    """An installation without a role's start page (e.g. the feature switched off) sends the
    user to the account page instead of a missing one."""
    users = [SimpleNamespace(is_authenticated=True, role=org.users[n].role) for n in ROLES]
    with Flask("bare").app_context():
        for user in users:
            assert permissions.start_endpoint(user) == "auth.account"


def test_a_route_cannot_require_an_unknown_permission() -> None:
    with pytest.raises(KeyError, match=r"Unknown permission .no\.such."):
        permissions.requires("no.such")


def test_every_request_is_checked_against_the_routes_rule(
    make_app, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    """Anonymous users are sent to the login page (and back afterwards), a role without the
    permission is refused, and a route that declares no rule is refused to everyone."""
    app = make_app()

    @app.route("/udeklareret")
    def undeclared() -> str:
        return "hemmeligt"

    @app.route("/kun-admin")
    @permissions.requires("admin.manage")
    def admin_only() -> str:
        return "admin"

    @app.route("/aaben")
    @permissions.public
    def open_page() -> str:
        return "for alle"

    @app.route("/indlogget")
    @permissions.authenticated
    def logged_in_page() -> str:
        return "for indloggede"

    client = app.test_client()
    assert client.get("/aaben").get_data(as_text=True) == "for alle"
    assert client.get("/indlogget").headers["Location"].endswith("/login?next=/indlogget")
    response = client.get("/konto")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login?next=/konto")
    response = client.get("/konto?fane=sprog")
    assert response.headers["Location"].endswith("/login?next=/konto?fane%3Dsprog")
    assert client.get("/login").status_code == 200
    client.post("/login", data={"username": "sagsbehandler", "password": PASSWORD})
    assert client.get("/konto").status_code == 200
    assert client.get("/indlogget").get_data(as_text=True) == "for indloggede"
    assert client.get("/aaben").get_data(as_text=True) == "for alle"
    assert client.get("/kun-admin").status_code == 403
    with caplog.at_level(logging.ERROR):
        assert client.get("/udeklareret").status_code == 403
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Route undeclared has no declared access rule"
    ]
    client.post("/logout")
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert client.get("/kun-admin").get_data(as_text=True) == "admin"
    assert client.get("/udeklareret").status_code == 403
    assert client.get("/findes-ikke").status_code == 404
