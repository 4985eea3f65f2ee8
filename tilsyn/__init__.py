"""tilsyn: documented, risk-based management supervision (ledelsestilsyn) for job centres."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from tilsyn.settings import ROOT, load_settings

#: Feature view modules; each exposes a blueprint ``bp``.
BLUEPRINTS: tuple[str, ...] = (
    "tilsyn.auth.views",
    "tilsyn.core.views",
    "tilsyn.org.views",
    "tilsyn.audit.views",
    "tilsyn.cases.views",
    "tilsyn.catalogue.views",
    "tilsyn.rounds.views",
    "tilsyn.risk.views",
    "tilsyn.sampling.views",
    "tilsyn.reviews.views",
    "tilsyn.reviews.round_pages",
    "tilsyn.quality.views",
    "tilsyn.feedback.views",
    "tilsyn.results.views",
)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. No migrations, schedulers or other side effects happen here."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(load_settings(app.instance_path, overrides))
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind a reverse proxy: the client address (login throttling, audit) comes from
        # X-Forwarded-For as set by the given number of trusted proxies.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    from tilsyn import models  # noqa: F401  (registers every table on the metadata)
    from tilsyn.extensions import babel, bootstrap, csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    _init_login(app)

    from tilsyn.web import BoundedIntConverter

    # Before any route is added: every <int:...> is bounded to what the database can hold.
    app.url_map.converters["int"] = BoundedIntConverter
    for module_name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module_name).bp)

    from tilsyn.core.errors import register_error_handlers
    from tilsyn.permissions import enforce_access, public

    for name, view in list(app.view_functions.items()):
        if name == "static" or name.startswith("bootstrap."):
            app.view_functions[name] = public(_plain_view(view))
    app.before_request(enforce_access)
    from tilsyn.web import commit_request, register_database_errors

    app.after_request(commit_request)
    from tilsyn.reviews.findings import prior_findings_by_caseworker
    from tilsyn.risk.population import OPEN_ACTIONS_SOURCE, PRIOR_FINDINGS_SOURCE

    # Risk scoring needs each caseworker's prior findings, which live above it (in reviews):
    # views and commands below reviews read them through this one registered source.
    app.extensions[PRIOR_FINDINGS_SOURCE] = prior_findings_by_caseworker
    from tilsyn.feedback.loop import followup_allowance, open_action_counts, review_hints
    from tilsyn.feedback.pages import round_summary
    from tilsyn.reviews.hooks import REVIEW_HINTS_SOURCE, ROUND_FEEDBACK_SOURCE
    from tilsyn.rounds.rounds import FOLLOWUP_ALLOWANCE_SOURCE

    # Feedback sits above rounds and reviews: the follow-up allowance of a plan's draw, the
    # review form's hints and the round page's feedback summary reach them as plain data.
    app.extensions[FOLLOWUP_ALLOWANCE_SOURCE] = followup_allowance
    app.extensions[OPEN_ACTIONS_SOURCE] = open_action_counts
    app.extensions[REVIEW_HINTS_SOURCE] = review_hints
    app.extensions[ROUND_FEEDBACK_SOURCE] = round_summary
    register_error_handlers(app)
    register_database_errors(app)
    _init_templates(app)
    return app


def _plain_view(view: Any) -> Any:
    """Wrap a (possibly bound-method) view in a function that can carry an access rule."""

    def static_view(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return static_view


def _select_locale() -> str:
    """The language chosen on this browser, else the user's preference, else Danish."""
    if not has_request_context():
        return "da"  # command line, scheduler: Danish
    lang = session.get("lang")
    if lang in ("da", "en"):
        return str(lang)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        if current_user and getattr(current_user, "locale", None):
            return str(current_user.locale)
    except SQLAlchemyError:  # the database is unreachable: the error page is Danish
        return "da"
    return "da"


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from tilsyn.auth.models import User
    from tilsyn.extensions import db, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log ind for at fortsætte.")
    # Flashed messages are stored in the session: hand Flask-Login's lazy text over as a string.
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        from datetime import UTC, datetime

        from flask import flash

        from tilsyn.auth import sessions

        known = user_id.isdigit() and len(user_id) < 19
        user = db.session.get(User, int(user_id)) if known else None
        if user is None or not user.active:
            sessions.forget(session)
            return None
        ended = sessions.check(
            session,
            user.session_version,
            datetime.now(UTC),
            idle_minutes=float(app.config["SESSION_IDLE_MINUTES"]),
            max_hours=float(app.config["SESSION_MAX_HOURS"]),
        )
        if ended is not None:
            sessions.forget(session)
            if ended != sessions.REVOKED:
                flash(str(_l("Din session er udløbet; log ind igen.")), "info")
            return None
        return user


def _init_templates(app: Flask) -> None:
    from flask_babel import get_locale

    from tilsyn import formatting
    from tilsyn.core.nav import nav_items
    from tilsyn.formutil import error_list
    from tilsyn.permissions import ROLE_LABELS, Role, can

    app.jinja_env.globals.update(
        can=can,
        form_error_list=error_list,
        nav_items=nav_items,
        role_labels={role.value: label for role, label in ROLE_LABELS.items()},
        get_locale=get_locale,
        Role=Role,
    )
    app.jinja_env.filters.update(formatting.FILTERS)

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; object-src 'none'; frame-ancestors 'none'",
        )
        if request.endpoint and not request.endpoint.endswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
