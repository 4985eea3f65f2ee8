"""Every registered route, for every role: allowed or refused, as the expectations below say.

``EXPECTED`` is written by hand, independently of ``tilsyn.permissions``: a route missing from it,
or a route without a declared access rule, fails the test. Keys are endpoints; values are the
roles that may open the route (``PUBLIC`` for everyone, logged in or not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tilsyn.cases.models import Case
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
    "core.leader_home": LEADERS,
    "core.team": LEADERS,
    "core.my_cases": frozenset({"sagsbehandler"}),
    "core.director_home": frozenset({"admin", "direktoer"}),
    "admin.index": frozenset({"admin"}),
    "admin.unit_edit": frozenset({"admin"}),
    "admin.caseworker_edit": frozenset({"admin"}),
    "admin.user_edit": frozenset({"admin"}),
    "audit.index": frozenset({"admin", "revisor"}),
    "cases.snapshots": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "cases.snapshot": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "cases.upload": frozenset({"admin"}),
    "cases.preview": frozenset({"admin"}),
    "cases.abort_import": frozenset({"admin"}),
    "cases.error_report": frozenset({"admin"}),
    "catalogue.index": ALL,
    "catalogue.view": ALL,
    "catalogue.edit": LEADERS,
    "catalogue.theme_edit": LEADERS,
    "catalogue.load": LEADERS,
    "catalogue.scale_edit": LEADERS,
    "rounds.calendar": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "rounds.plans": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "rounds.plan_edit": LEADERS,
    "round_pages.new_round": LEADERS,
    "round_pages.close_round": LEADERS,
    "round_pages.replace_draw": LEADERS,
    "round_pages.round_page": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
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
    "reviews.index": LEADERS,
    "reviews.round_cases": LEADERS,
    "reviews.edit": LEADERS,
    "reviews.view": LEADERS,
    "reviews.reopen": LEADERS,
    # Feedback and follow-up actions (tilsyn.feedback).
    "feedback.mine": frozenset({"sagsbehandler"}),
    "feedback.mine_detail": frozenset({"sagsbehandler"}),
    "feedback.acknowledge": frozenset({"sagsbehandler"}),
    "feedback.comment": frozenset({"admin", "teamleder", "sagsbehandler"}),
    "feedback.my_actions": frozenset({"sagsbehandler"}),
    "feedback.action_done": frozenset({"admin", "teamleder", "sagsbehandler"}),
    "feedback.preference": ALL,
    "feedback.round_page": LEADERS,
    "feedback.release_round": LEADERS,
    "feedback.review_page": LEADERS,
    "feedback.release_review": LEADERS,
    "feedback.create_action": LEADERS,
    "feedback.actions_list": LEADERS,
    "feedback.action_approve": LEADERS,
    "feedback.action_reopen": LEADERS,
    "feedback.action_cancel": LEADERS,
    "feedback.plan_settings": LEADERS,
    "feedback.overview": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "feedback.register": frozenset({"admin", "revisor"}),
    "quality.method_check": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "quality.calibration": frozenset({"admin", "teamleder", "revisor"}),
    "quality.calibration_round_page": frozenset({"admin", "teamleder", "revisor"}),
    "quality.calibration_setting": LEADERS,
    "quality.calibration_assign": LEADERS,
    "quality.calibration_resolve": LEADERS,
    "quality.second_review": LEADERS,
    "results.index": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "results.export_excel": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
    "results.report": frozenset({"admin", "teamleder", "direktoer", "revisor"}),
}

USERNAME = {
    "admin": "admin",
    "teamleder": "leder",
    "sagsbehandler": "sagsbehandler",
    "direktoer": "direktoer",
    "revisor": "revisor",
}

#: Status an allowed role gets when the route is opened with seeded ids: 200 for GET, 302 for
#: POST-only routes (they redirect after acting or after a Danish refusal). Routes that answer
#: otherwise for every allowed role are listed here, each with the reason.
ALLOWED_STATUS: dict[str, int] = {
    "core.index": 302,  # sends the user on to their start page
    "auth.login": 302,  # a logged-in user is sent on to their start page
    "auth.account_language": 200,  # an empty form is shown again with its error
    "cases.preview": 404,  # the token names a pending upload of one user; none exists here
    "cases.error_report": 404,  # likewise: the kept report of a refused upload
    "rounds.status": 400,  # no target status in the (empty) form
}

#: Non-id URL values.
SAMPLE_ARGS = {
    "filename": "tilsyn.css",
    "lang": "da",
    "token": "ukendt-upload",
    "period": "2026-K4",
}


@dataclass
class Seeded:
    """A realistic data set: every URL id below exists and is in the team leader's unit."""

    ids: dict[str, int]
    per_endpoint: dict[str, dict[str, int]]
    own_case_id: int  # a case of the caseworker linked to the "sagsbehandler" user (Team A)
    other_case_id: int  # a case of a caseworker in Team B


def seed(session: Session, org: factories.Org) -> Seeded:
    """Catalogue, approved risk model plus a draft, a snapshot with cases, a Team A plan with a
    round and its draw (reusing the feature factories)."""
    from tests.factories import make_org_snapshot, make_plan, setup_catalogue_and_model
    from tilsyn.catalogue.models import ControlPoint, Scale, Theme
    from tilsyn.risk.versions import approved_version, create_version
    from tilsyn.rounds.periods import period_containing
    from tilsyn.rounds.rounds import create_round, draw_round
    from tilsyn.sampling.models import DrawItem

    admin = org.users["admin"]
    today = date.today()
    setup_catalogue_and_model(session, org)
    approved = approved_version(session)
    assert approved is not None
    draft = create_version(session, admin, approved, approved.factors, "Kladde til test")
    snapshot = make_org_snapshot(session, org, today - timedelta(days=3))
    plan = make_plan(session, org, starts_on=today)
    rnd = create_round(session, admin, plan, period_containing("quarterly", today))
    draw = draw_round(session, admin, rnd, snapshot=snapshot, seed=4711, prior_findings={})
    item = session.scalars(
        select(DrawItem)
        .where(DrawItem.draw_id == draw.id, DrawItem.caseworker_id == org.cw_a1.id)
        .order_by(DrawItem.id)
    ).first()
    assert item is not None

    # The caseworker's second sampled case gets a completed, released review (the first stays
    # open for the review form).
    reviewed = session.scalars(
        select(DrawItem)
        .where(DrawItem.draw_id == draw.id, DrawItem.caseworker_id == org.cw_a1.id)
        .order_by(DrawItem.id)
    ).all()[1]
    feedback_ids = _seed_feedback(session, org, rnd, reviewed)

    def case_of(caseworker_id: int) -> int:
        case_id = session.scalar(
            select(Case.id)
            .where(Case.snapshot_id == snapshot.id, Case.caseworker_id == caseworker_id)
            .order_by(Case.id)
        )
        assert case_id is not None
        return case_id

    def first_id(model: Any) -> int:
        value = session.scalar(select(model.id).order_by(model.id))
        assert value is not None, model
        return int(value)

    # A calibration case: the sampled case above, second review by the team leader.
    from tilsyn.quality.models import CalibrationCase

    calibration = CalibrationCase(
        round_id=rnd.id,
        draw_item_id=item.id,
        unit_id=org.unit_a.id,
        reviewer_id=org.users["leder"].id,
    )
    session.add(calibration)
    session.flush()
    session.commit()
    return Seeded(
        ids={
            "caseworker_id": org.cw_a1.id,
            "unit_id": org.unit_a.id,
            "user_id": org.users["sagsbehandler"].id,
            "snapshot_id": snapshot.id,
            "point_id": first_id(ControlPoint),
            "theme_id": first_id(Theme),
            "scale_id": first_id(Scale),
            "plan_id": plan.id,
            "round_id": rnd.id,
            "draw_id": draw.id,
            "item_id": item.id,
            "version_id": approved.id,
            "case_id": case_of(org.cw_a1.id),
            **feedback_ids,
            "calibration_id": calibration.id,
        },
        per_endpoint={
            # Only a draft can be edited or approved.
            "risk.edit": {"version_id": draft.id},
            "risk.approve": {"version_id": draft.id},
        },
        own_case_id=case_of(org.cw_a1.id),
        other_case_id=case_of(org.cw_b1.id),
    )


def _seed_feedback(session: Session, org: factories.Org, rnd: Any, item: Any) -> dict[str, int]:
    """A completed review of the Team A caseworker's case, released, with a follow-up action
    from its first finding (every answer "not in order")."""
    from tilsyn.feedback import actions, release
    from tilsyn.reviews import recording as reviews

    admin = org.users["admin"]
    points = reviews.applicable_points(reviews.review_form_items(session, rnd, item))
    answers = {
        cp.id: (next(o.id for o in cp.scale.options if o.outcome == "not_in_order"), "")
        for cp in points
    }
    review = reviews.save_review(session, admin, rnd.id, item.id, answers, "", True)
    release.release(session, admin, rnd.id, review_ids=[review.id])
    action = actions.create_action(
        session,
        admin,
        review.id,
        description="Ret sagen",
        owner="caseworker",
        due_date=date.today() + timedelta(days=14),
        today=date.today(),
        control_point_id=points[0].id,
    )
    from tilsyn.feedback.models import FeedbackRelease

    rel = session.scalar(select(FeedbackRelease).where(FeedbackRelease.review_id == review.id))
    assert rel is not None
    return {"release_id": rel.id, "review_id": review.id, "action_id": action.id}


@pytest.fixture
def seeded(session: Session, org: factories.Org) -> Seeded:
    return seed(session, org)


def _endpoints(app: Flask) -> list[str]:
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()})


def test_every_route_declares_a_rule_and_an_expectation(app: Flask):
    missing_rule = [e for e in _endpoints(app) if access_rule(app.view_functions[e]) is None]
    assert missing_rule == [], f"routes without a declared access rule: {missing_rule}"
    missing_expectation = [e for e in _endpoints(app) if e not in EXPECTED]
    assert missing_expectation == [], f"routes missing from EXPECTED: {missing_expectation}"


def _urls(app: Flask, seeded: Seeded | None) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every URL rule (both "new" and "edit" rules of a form)."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        args: dict[str, Any] = {}
        for name in rule.arguments:
            if rule.defaults and name in rule.defaults:
                continue
            if name in SAMPLE_ARGS:
                args[name] = SAMPLE_ARGS[name]
            elif seeded is None:
                args[name] = 1
            else:
                ids = {**seeded.ids, **seeded.per_endpoint.get(rule.endpoint, {})}
                assert name in ids, f"{rule.endpoint}: add a seeded id for <{name}> in seed()"
                args[name] = ids[name]
        if rule.endpoint == "bootstrap.static":
            args = {"filename": "css/bootstrap.min.css"}
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        with app.test_request_context():
            out.append((rule.endpoint, method, url_for(rule.endpoint, **args)))
    return out


@pytest.mark.parametrize("role", sorted(ALL))
def test_roles_are_allowed_or_refused(app: Flask, login_as, seeded: Seeded, role: str):
    client = login_as(USERNAME[role])
    failures = []
    for endpoint, method, url in _urls(app, seeded):
        if endpoint in ("auth.logout", "auth.set_language"):
            continue  # would end the session / covered in test_auth
        expected = EXPECTED.get(endpoint)
        if expected is None:
            continue  # fails test_every_route_declares_a_rule_and_an_expectation
        response = client.open(url, method=method)
        response.close()
        allowed = expected == PUBLIC or role in expected
        if allowed:
            want = ALLOWED_STATUS.get(endpoint, 200 if method == "GET" else 302)
            if response.status_code != want:
                failures.append(f"{endpoint} {method} {url}: {response.status_code}, want {want}")
        elif response.status_code != 403:
            failures.append(f"{endpoint} {method} {url}: {response.status_code}, expected 403")
    assert failures == [], "\n".join(failures)


def test_anonymous_is_sent_to_login(app: Flask, client):
    for endpoint, method, url in _urls(app, None):
        if EXPECTED.get(endpoint) == PUBLIC:
            continue
        response = client.open(url, method=method)
        assert response.status_code == 302, endpoint
        assert "/login" in response.headers["Location"], endpoint


def test_caseworker_sees_only_own_cases_and_no_admin(login_as, org):
    client = login_as("sagsbehandler")
    assert client.get("/admin/").status_code == 403
    assert client.get("/revisionslog/").status_code == 403
    assert client.get("/mine-teams").status_code == 403


def test_case_pages_are_scoped_to_the_caseworker(login_as, seeded: Seeded):
    own, other = f"/risiko/sag/{seeded.own_case_id}", f"/risiko/sag/{seeded.other_case_id}"
    client = login_as("sagsbehandler")
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 403  # a colleague's case
    client = login_as("leder")  # leads Team A only
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 403
    assert login_as("admin").get(other).status_code == 200


def test_team_pages_are_scoped_to_the_leaders_units(login_as, org):
    client = login_as("leder")
    assert client.get(f"/mine-teams/{org.unit_a.id}").status_code == 200
    assert client.get(f"/mine-teams/{org.unit_b.id}").status_code == 403
    assert login_as("admin").get(f"/mine-teams/{org.unit_b.id}").status_code == 200


def test_my_cases_lists_only_the_linked_caseworkers_cases(login_as, session, org, seeded: Seeded):
    refs = {ref: cw for ref, cw in session.execute(select(Case.case_ref, Case.caseworker_id))}
    own = {ref for ref, cw in refs.items() if cw == org.cw_a1.id}
    others = set(refs) - own
    assert own and others
    html = login_as("sagsbehandler").get("/mine-sager").get_data(as_text=True)
    assert own
    assert all(f">{ref}</th>" in html for ref in own)
    assert not [ref for ref in others if ref in html]
    # The second caseworker user sees their own (Team B) cases, not the first one's.
    html = login_as("sagsbehandler2").get("/mine-sager").get_data(as_text=True)
    assert not [ref for ref in own if ref in html]
    assert org.cw_b1.id in refs.values()
    assert all(f">{ref}</th>" in html for ref, cw in refs.items() if cw == org.cw_b1.id)
