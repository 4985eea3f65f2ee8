"""Roles, permissions and row scoping: the one place that says who may do what.

Every view declares its access rule with :func:`public`, :func:`authenticated` or
:func:`requires`; :func:`enforce_access` (run before every request) refuses undeclared routes,
anonymous users and users without the permission. Row scoping (which caseworkers' data a user may
see) is expressed once, in :func:`caseworker_filter` and :func:`can_see_caseworker`, and services
use those. Templates ask :func:`can`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from tilsyn.enums import LabelledEnum
from tilsyn.org.models import Caseworker, Unit

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from tilsyn.auth.models import User


class Role(LabelledEnum):
    """A user's role, with its display name (lazy: rendered in the current UI language)."""

    ADMIN = "admin", _l("Administrator")
    TEAMLEDER = "teamleder", _l("Teamleder")
    SAGSBEHANDLER = "sagsbehandler", _l("Sagsbehandler")
    DIREKTOER = "direktoer", _l("Direktør")
    REVISOR = "revisor", _l("Revisor")


#: Display names of the roles (``str()`` them).
ROLE_LABELS = Role.labels()

A, T, S, D, R = Role.ADMIN, Role.TEAMLEDER, Role.SAGSBEHANDLER, Role.DIREKTOER, Role.REVISOR
ALL_ROLES = frozenset(Role)

#: permission -> roles holding it. Case-level permissions are further row-scoped.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "account.use": ALL_ROLES,
    "admin.manage": frozenset({A}),
    "audit.view": frozenset({A, R}),
    "org.overview": frozenset({A, D}),
    # Team pages: a leader's own units; the admin sees every unit (see unit_filter/can_see_unit).
    "leader.home": frozenset({A, T}),
    "own.view": frozenset({S}),
    # Snapshots: metadata and aggregate counts.
    "snapshots.view": frozenset({A, T, D, R}),
    # Imports replace the organisation's population: administrators only (docs/import.md).
    "cases.import": frozenset({A}),
    # Case-level data (case references, attributes, risk factors): scoped by caseworker.
    "cases.view": frozenset({A, T, S}),
    "risk.view": frozenset({A, T, D, R}),
    "risk.edit": frozenset({A, T}),
    "risk.approve": frozenset({A, T}),
    "sampling.view": frozenset({A, T, R}),
    "sampling.draw": frozenset({A, T}),
    "catalogue.view": frozenset({A, T, D, R, S}),
    "catalogue.edit": frozenset({A, T}),
    "plans.view": frozenset({A, T, D, R}),
    "plans.edit": frozenset({A, T}),
    "rounds.view": frozenset({A, T, D, R}),
    "rounds.manage": frozenset({A, T}),
    # Case reviews (findings per sampled case): case-level, scoped by caseworker.
    "reviews.view": frozenset({A, T}),
    "reviews.record": frozenset({A, T}),
    # Feedback and follow-up actions (tilsyn.feedback): own rows for caseworkers, own units for
    # leaders, counts per team for directors, dates and statuses without free text for auditors.
    "feedback.own": frozenset({S}),
    "feedback.comment": frozenset({A, T, S}),
    "actions.done": frozenset({A, T, S}),
    "feedback.manage": frozenset({A, T}),
    "feedback.overview": frozenset({A, T, D, R}),
    "feedback.register": frozenset({A, R}),
    # Review quality: census coverage and override counts (aggregates, no case-level data).
    "quality.view": frozenset({A, T, D, R}),
    # Calibration: agreement for leaders and the auditor; second reviews and resolutions by
    # leaders (the assigned leader / the leaders the plan's option names: see the service).
    "quality.calibration": frozenset({A, T, R}),
    "quality.calibrate": frozenset({A, T}),
    # Results over periods: aggregates (a teamleder: the organisation and their own units).
    "results.view": frozenset({A, T, D, R}),
    # The answers behind the results, with case references, in the Excel export.
    "results.answers": frozenset({A, T}),
}

#: Where each role lands after logging in (first endpoint that exists).
START_PAGES: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("admin.index",),
    Role.TEAMLEDER: ("core.leader_home",),
    Role.SAGSBEHANDLER: ("core.my_cases",),
    Role.DIREKTOER: ("core.director_home",),
    Role.REVISOR: ("risk.assessment", "audit.index"),
}


@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public" | "authenticated" | "permission"
    permission: str | None = None


F = TypeVar("F", bound=Callable[..., Any])
RULE_ATTR = "_tilsyn_access_rule"


def _declare(rule: AccessRule) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        setattr(view, RULE_ATTR, rule)
        return view

    return decorator


def public(view: F) -> F:
    """Reachable without login (login page, static files)."""
    return _declare(AccessRule("public"))(view)


def authenticated(view: F) -> F:
    """Any logged-in user."""
    return _declare(AccessRule("authenticated"))(view)


def requires(permission: str) -> Callable[[F], F]:
    """Logged-in user whose role holds ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}")
    return _declare(AccessRule("permission", permission))


def access_rule(view: Callable[..., Any]) -> AccessRule | None:
    return getattr(view, RULE_ATTR, None)


def role_of(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return Role(user.role)
    except ValueError:
        return None


def has_permission(user: Any, permission: str) -> bool:
    role = role_of(user)
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


def can_see_caseworker(user: Any, caseworker: Caseworker) -> bool:
    """Row scoping for case-level data belonging to ``caseworker``."""
    role = role_of(user)
    if role is Role.ADMIN:
        return True
    if role is Role.TEAMLEDER:
        return caseworker.unit_id in user.unit_ids
    if role is Role.SAGSBEHANDLER:
        return user.caseworker_id is not None and caseworker.id == user.caseworker_id
    return False


def can_see_unit(user: Any, unit: Unit) -> bool:
    """Unit-level scoping (team pages, aggregates per unit): a leader's own units, all for the
    organisation-wide roles. The SQL form for listing units is :func:`unit_filter`."""
    role = role_of(user)
    if role in (Role.ADMIN, Role.DIREKTOER, Role.REVISOR):
        return True
    if role is Role.TEAMLEDER:
        return unit.id in user.unit_ids
    return False


def _leader_scope(user: User, unit_id: InstrumentedAttribute[int]) -> ColumnElement[bool] | None:
    """All rows for an admin, the rows of their units (``unit_id``) for a teamleder, else None."""
    role = role_of(user)
    if role is Role.ADMIN:
        return true()
    if role is Role.TEAMLEDER:
        ids = sorted(user.unit_ids)
        return unit_id.in_(ids) if ids else false()
    return None


def caseworker_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on :class:`Caseworker` for the caseworkers whose cases ``user`` may see."""
    scope = _leader_scope(user, Caseworker.unit_id)
    if scope is not None:
        return scope
    if role_of(user) is Role.SAGSBEHANDLER and user.caseworker_id is not None:
        return Caseworker.id == user.caseworker_id
    return false()


def unit_filter(user: User) -> ColumnElement[bool]:
    """SQL condition on :class:`Unit` for the units ``user`` may manage (leader scope)."""
    scope = _leader_scope(user, Unit.id)
    return scope if scope is not None else false()


def can(permission: str, obj: object | None = None, user: Any = None) -> bool:
    """Whether ``user`` (default: the current user) holds ``permission`` on ``obj``."""
    user = current_user if user is None else user
    if not has_permission(user, permission):
        return False
    if isinstance(obj, Caseworker):
        return can_see_caseworker(user, obj)
    if isinstance(obj, Unit):
        return can_see_unit(user, obj)
    return True


def start_endpoint(user: Any) -> str:
    role = role_of(user)
    if role is None:
        return "auth.login"
    for endpoint in START_PAGES[role]:
        if endpoint in current_app.view_functions:
            return endpoint
    return "auth.account"


def enforce_access() -> Response | None:
    """``before_request`` hook: apply the declared rule of the matched view."""
    if request.endpoint is None:
        return None  # 404/405: let Flask answer
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return None
    rule = access_rule(view)
    if rule is None:
        current_app.logger.error("Route %s has no declared access rule", request.endpoint)
        abort(403)
    if rule.kind == "public":
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if rule.kind == "permission" and not has_permission(current_user, rule.permission or ""):
        abort(403)
    return None


# --------------------------------------------------------------------------------------------
# Row scoping of supervision plans, rounds and draw records
# --------------------------------------------------------------------------------------------
# A plan (and every round of it) belongs to one unit, or to the whole organisation when its
# ``unit_id`` is None. ``user`` None is the system (scheduler, CLI): it sees and manages all.


def visible_plans_filter(
    user: Any, plan_unit_id: InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    """SQL condition on a plan's unit column (``plan_unit_id``, e.g.
    ``SupervisionPlan.unit_id``): the plans (and their rounds) ``user`` may see.

    Admin, direktør and revisor see every plan; a teamleder the plans of their own units and
    the organisation-wide plans (unit None); other roles none.
    """
    if user is None:
        return true()
    role = role_of(user)
    if role is Role.TEAMLEDER:
        ids = sorted(user.unit_ids)
        return or_(plan_unit_id.is_(None), plan_unit_id.in_(ids))
    if role in (Role.ADMIN, Role.DIREKTOER, Role.REVISOR):
        return true()
    return false()


def can_see_plan(user: Any, plan: Any) -> bool:
    """Whether ``user`` may see ``plan`` (a ``SupervisionPlan``) and its rounds."""
    if user is None:
        return True
    role = role_of(user)
    if role is Role.TEAMLEDER:
        return plan.unit_id is None or plan.unit_id in user.unit_ids
    return role in (Role.ADMIN, Role.DIREKTOER, Role.REVISOR)


def can_record_reviews(user: Any, caseworker: Caseworker) -> bool:
    """Whether ``user`` may write reviews of ``caseworker``'s cases (None: the system)."""
    if user is None:
        return True
    return has_permission(user, "reviews.record") and can_see_caseworker(user, caseworker)


def can_view_reviews(user: Any, caseworker: Caseworker) -> bool:
    """Whether ``user`` may read reviews of ``caseworker``'s cases (None: the system)."""
    if user is None:
        return True
    return has_permission(user, "reviews.view") and can_see_caseworker(user, caseworker)


def can_open_round_reviews(user: Any, rnd: Any) -> bool:
    """Whether the review pages of round ``rnd`` exist for ``user``: those who may record
    reviews, for the rounds of plans they can see (a teamleder: own units and org-wide)."""
    if user is None:
        return True
    return has_permission(user, "reviews.record") and can_see_plan(user, rnd.plan)


def can_manage_plan(user: Any, plan: Any | None) -> bool:
    """Admins manage every plan; a teamleder the plans of their own units (``plan`` None: a new
    plan, which the teamleder may make for one of their units)."""
    if plan is None:
        return user is None or role_of(user) in (Role.ADMIN, Role.TEAMLEDER)
    return can_plan_for_unit(user, plan.unit_id)


def can_plan_for_unit(user: Any, unit_id: int | None) -> bool:
    """Whether ``user`` may make a plan for unit ``unit_id`` (None: the whole organisation,
    which only admins and the system may plan)."""
    if user is None:
        return True
    role = role_of(user)
    if role is Role.ADMIN:
        return True
    if role is Role.TEAMLEDER:
        return unit_id is not None and unit_id in user.unit_ids
    return False


def can_plan_org_wide(user: Any) -> bool:
    """Whether ``user`` may make organisation-wide plans."""
    return can_plan_for_unit(user, None)


def round_caseworker_filter(user: Any) -> ColumnElement[bool]:
    """SQL condition on :class:`Caseworker` for a round's sampled-cases-per-caseworker counts.

    A teamleder sees the caseworkers of their own units; admin, direktør, revisor and the system
    see every caseworker (initials and counts only, no case rows).
    """
    if role_of(user) is Role.TEAMLEDER:
        return caseworker_filter(user)
    return true()


def draw_item_filter(user: Any) -> ColumnElement[bool]:
    """SQL condition on :class:`Caseworker` for the sampled cases of a draw record ``user`` may
    see.

    Admin, revisor (the auditor replays and checks draws; case references are pseudonymous and a
    draw record holds no free text) and the system see every sampled case; a teamleder those of
    the caseworkers of their units; other roles none.
    """
    if user is None or role_of(user) in (Role.ADMIN, Role.REVISOR):
        return true()
    return caseworker_filter(user)


def draw_unit_scope(user: Any) -> list[int] | None:
    """Units whose caseworkers an ad hoc draw by ``user`` covers; None means every unit."""
    if user is None or role_of(user) is Role.ADMIN:
        return None
    if role_of(user) is Role.TEAMLEDER:
        return sorted(user.unit_ids)
    return []
