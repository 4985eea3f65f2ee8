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

    for module_name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module_name).bp)

    from tilsyn.core.errors import register_error_handlers
    from tilsyn.permissions import enforce_access, public

    for name, view in list(app.view_functions.items()):
        if name == "static" or name.startswith("bootstrap."):
            app.view_functions[name] = public(_plain_view(view))
    app.before_request(enforce_access)
    from tilsyn.web import commit_request

    app.after_request(commit_request)
    from tilsyn.reviews.findings import prior_findings_by_caseworker
    from tilsyn.risk.population import PRIOR_FINDINGS_SOURCE

    # Risk scoring needs each caseworker's prior findings, which live above it (in reviews):
    # views and commands below reviews read them through this one registered source.
    app.extensions[PRIOR_FINDINGS_SOURCE] = prior_findings_by_caseworker
    register_error_handlers(app)
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
    if current_user and getattr(current_user, "locale", None):
        return str(current_user.locale)
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
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None


def _init_templates(app: Flask) -> None:
    from flask_babel import get_locale

    from tilsyn import formatting
    from tilsyn.core.nav import nav_items
    from tilsyn.permissions import ROLE_LABELS, Role, can

    app.jinja_env.globals.update(
        can=can,
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
