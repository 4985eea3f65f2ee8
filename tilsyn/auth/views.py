"""Login, logout, account page and language switch."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from tilsyn.auth import services, sessions
from tilsyn.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from tilsyn.extensions import db
from tilsyn.permissions import authenticated, public, requires, start_endpoint
from tilsyn.web import redirect_back, safe_next, submit

bp = Blueprint("auth", __name__)


def _clear_session_keeping_language() -> None:
    """Start a fresh session (no fixation) but keep the language chosen on this browser."""
    lang = session.get("lang")
    session.clear()
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for(start_endpoint(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.authenticate(
            db.session,
            form.username.data or "",
            form.password.data or "",
            request.remote_addr,
            services.Throttle(
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"],
                max_failures_per_ip=current_app.config["LOGIN_MAX_FAILURES_PER_IP"],
            ),
        )
        if result.user is not None:
            _clear_session_keeping_language()
            login_user(result.user)
            sessions.start(session, result.user.session_version, datetime.now(UTC))
            return redirect(
                safe_next(request.args.get("next")) or url_for(start_endpoint(result.user))
            )
        flash(result.error or _("Login mislykkedes."), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@authenticated
def logout() -> Response:
    """Log out on every device (sessions are cookies: see :mod:`tilsyn.auth.sessions`)."""
    services.logout(db.session, current_user)
    logout_user()
    _clear_session_keeping_language()
    flash(_("Du er logget ud."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/konto", methods=["GET", "POST"])
@requires("account.use")
def account() -> str | Response:
    form = ChangePasswordForm()
    if submit(
        form,
        lambda: services.change_password(
            db.session, current_user, form.old_password.data or "", form.new_password.data or ""
        ),
        success=_("Din adgangskode er skiftet; du er logget ud alle andre steder."),
    ):
        sessions.restamp(session, current_user.session_version)  # this browser stays logged in
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, language_form=_language_form())


def _language_form() -> LanguageForm:
    form = LanguageForm(prefix="sprog")  # two forms on one page: distinct ids
    if not form.is_submitted():
        form.locale.data = current_user.locale or str(get_locale())
    return form


@bp.route("/konto/sprog", methods=["POST"])
@requires("account.use")
def account_language() -> str | Response:
    """Store the user's preferred language (used at every login) and switch to it now."""
    form = _language_form()
    if submit(form, lambda: services.set_locale(db.session, current_user, form.locale.data or "")):
        session["lang"] = form.locale.data
        refresh()  # the confirmation below in the new language
        flash(_("Dit sprogvalg er gemt."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=ChangePasswordForm(), language_form=form)


@bp.route("/sprog/<lang>", methods=["POST"])
@public
def set_language(lang: str) -> Response:
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect_back("core.index")
