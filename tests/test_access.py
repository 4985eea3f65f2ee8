"""Every registered route, for every role: allowed or refused, as the expectations below say.

``EXPECTED`` is written by hand, independently of ``tilsyn.permissions``: a route missing from it,
or a route without a declared access rule, fails the test. Keys are endpoints; values are the
roles that may open the route (``PUBLIC`` for everyone, logged in or not).
"""

from __future__ import annotations

import pytest
from flask import Flask

from tilsyn.permissions import access_rule

PUBLIC = "public"
ALL = frozenset({"admin", "teamleder", "sagsbehandler", "direktoer", "revisor"})
LEADERS = frozenset({"admin", "teamleder"})

EXPECTED: dict[str, frozenset[str] | str] = {
    "static": PUBLIC,
    "bootstrap.static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.set_language": PUBLIC,
    "auth.logout": ALL,
    "auth.account": ALL,
    "auth.account_language": ALL,
    "core.index": ALL,
    "core.leader_home": frozenset({"teamleder"}),
    "core.my_cases": frozenset({"sagsbehandler"}),
    "core.director_home": frozenset({"admin", "direktoer"}),
    "admin.index": frozenset({"admin"}),
    "admin.unit_edit": frozenset({"admin"}),
    "admin.caseworker_edit": frozenset({"admin"}),
    "admin.user_edit": frozenset({"admin"}),
    "audit.index": frozenset({"admin", "revisor"}),
    "cases.snapshots": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "cases.snapshot": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "cases.upload": frozenset({"admin", "teamleder"}),
    "cases.preview": frozenset({"admin", "teamleder"}),
    "cases.abort_import": frozenset({"admin", "teamleder"}),
    "catalogue.index": ALL,
    "catalogue.view": ALL,
    "catalogue.edit": LEADERS,
    "catalogue.theme_edit": LEADERS,
    "catalogue.load": LEADERS,
    "rounds.calendar": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "rounds.plans": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "rounds.plan_edit": LEADERS,
    "rounds.new_round": LEADERS,
    "rounds.round": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "rounds.draw": LEADERS,
    "rounds.themes": LEADERS,
    "rounds.status": LEADERS,
    "risk.assessment": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "risk.versions": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "risk.version": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "risk.init_default": LEADERS,
    "risk.edit": LEADERS,
    "risk.approve": LEADERS,
    "risk.case_risk": frozenset({"admin", "teamleder", "sagsbehandler"}),
    "sampling.draws": frozenset({"admin", "teamleder", "revisor"}),
    "sampling.new": LEADERS,
    "sampling.detail": frozenset({"admin", "teamleder", "revisor"}),
    "sampling.verify": frozenset({"admin", "teamleder", "revisor"}),
    "sampling.export": frozenset({"admin", "teamleder", "revisor"}),
}

USERNAME = {
    "admin": "admin",
    "teamleder": "leder",
    "sagsbehandler": "sagsbehandler",
    "direktoer": "direktoer",
    "revisor": "revisor",
}

# Values for URL parameters; ids that do not exist give 404 for allowed roles, which is fine:
# the point is that refused roles get 403 before any lookup.
SAMPLE_ARGS = {"filename": "tilsyn.css", "lang": "da", "token": "ukendt-upload"}


def _endpoints(app: Flask) -> list[str]:
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()})


def test_every_route_declares_a_rule_and_an_expectation(app: Flask):
    missing_rule = [e for e in _endpoints(app) if access_rule(app.view_functions[e]) is None]
    assert missing_rule == [], f"routes without a declared access rule: {missing_rule}"
    missing_expectation = [e for e in _endpoints(app) if e not in EXPECTED]
    assert missing_expectation == [], f"routes missing from EXPECTED: {missing_expectation}"


def _url(app: Flask, endpoint: str) -> tuple[str, str]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {}
    for name in rule.arguments:
        if name in SAMPLE_ARGS:
            args[name] = SAMPLE_ARGS[name]
        elif rule.defaults and name in rule.defaults:
            continue
        else:
            args[name] = 1  # integer ids
    method = "GET" if "GET" in rule.methods else "POST"
    with app.test_request_context():
        from flask import url_for

        if endpoint == "bootstrap.static":
            args = {"filename": "css/bootstrap.min.css"}
        return method, url_for(endpoint, **args)


@pytest.mark.parametrize("role", sorted(ALL))
def test_roles_are_allowed_or_refused(app: Flask, login_as, role: str):
    client = login_as(USERNAME[role])
    failures = []
    for endpoint in _endpoints(app):
        if endpoint in ("auth.logout", "auth.set_language"):
            continue  # would end the session / covered in test_auth
        expected = EXPECTED.get(endpoint)
        method, url = _url(app, endpoint)
        response = client.open(url, method=method)
        response.close()
        allowed = expected == PUBLIC or role in expected
        if allowed and response.status_code in (403, 500):
            failures.append(f"{endpoint} {method} {url}: {response.status_code}, expected access")
        if not allowed and response.status_code != 403:
            failures.append(f"{endpoint} {method} {url}: {response.status_code}, expected 403")
    assert failures == []


def test_anonymous_is_sent_to_login(app: Flask, client):
    for endpoint in _endpoints(app):
        if EXPECTED.get(endpoint) == PUBLIC:
            continue
        method, url = _url(app, endpoint)
        response = client.open(url, method=method)
        assert response.status_code == 302, endpoint
        assert "/login" in response.headers["Location"], endpoint


def test_caseworker_sees_only_own_cases_and_no_admin(login_as, org):
    client = login_as("sagsbehandler")
    assert client.get("/admin/").status_code == 403
    assert client.get("/revisionslog/").status_code == 403
    assert client.get("/mine-teams").status_code == 403
