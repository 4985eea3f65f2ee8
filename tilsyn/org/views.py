"""Administration pages: units, caseworkers, users."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tilsyn.auth import services as accounts
from tilsyn.auth import sessions
from tilsyn.auth.models import User
from tilsyn.extensions import db
from tilsyn.formutil import choices
from tilsyn.org import services
from tilsyn.org.forms import CaseworkerForm, UnitForm, UserEditForm, UserForm
from tilsyn.org.models import Caseworker, Unit
from tilsyn.permissions import requires
from tilsyn.web import chosen_or_400, new_or_edit, optional_or_404, submit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@requires("admin.manage")
def index() -> str:
    return render_template(
        "admin/index.html",
        units=services.list_units(db.session),
        caseworkers=services.list_caseworkers(db.session),
        users=accounts.list_users(db.session),
    )


@new_or_edit(bp, "/enheder/ny", "/enheder/<int:unit_id>")
@requires("admin.manage")
def unit_edit(unit_id: int | None) -> str | Response:
    unit = optional_or_404(Unit, unit_id)
    form = UnitForm(obj=unit)
    if submit(
        form,
        lambda: services.save_unit(
            db.session, current_user, form.name.data or "", form.active.data, unit
        ),
        success=_("Enheden er gemt."),
    ):
        return redirect(url_for("admin.index"))
    return render_template("admin/form.html", form=form, title=_("Enhed"))


@new_or_edit(bp, "/sagsbehandlere/ny", "/sagsbehandlere/<int:caseworker_id>")
@requires("admin.manage")
def caseworker_edit(caseworker_id: int | None) -> str | Response:
    caseworker = optional_or_404(Caseworker, caseworker_id)
    form = CaseworkerForm(obj=caseworker)
    form.unit_id.choices = choices((u.id, u.name) for u in services.list_units(db.session))
    if submit(
        form,
        lambda: services.save_caseworker(
            db.session,
            current_user,
            form.initials.data or "",
            form.name.data or "",
            chosen_or_400(Unit, form.unit_id.data),
            form.employment_start.data,
            form.active.data,
            caseworker,
        ),
        success=_("Sagsbehandleren er gemt."),
    ):
        return redirect(url_for("admin.index"))
    return render_template("admin/form.html", form=form, title=_("Sagsbehandler"))


def _save_user(form: UserForm | UserEditForm, user: User | None) -> None:
    """Create the user from the new-user form, or update ``user``."""
    if user is None:
        if not form.password.data:
            raise accounts.AccountError(_("En ny bruger skal have en adgangskode."))
        accounts.create_user(
            db.session,
            current_user,
            form.username.data or "",
            form.password.data,
            form.role.data or "",
            display_name=form.display_name.data,
            email=form.email.data,
            unit_names=list(form.units.data or []),
            caseworker_initials=form.caseworker.data or None,
        )
    else:
        accounts.update_user(
            db.session,
            current_user,
            user,
            role=form.role.data or "",
            display_name=form.display_name.data or user.username,
            email=form.email.data,
            unit_names=list(form.units.data or []),
            caseworker_initials=form.caseworker.data or None,
            active=form.active.data,
            new_password=form.password.data or None,
        )


@new_or_edit(bp, "/brugere/ny", "/brugere/<int:user_id>")
@requires("admin.manage")
def user_edit(user_id: int | None) -> str | Response:
    user = optional_or_404(User, user_id)
    # The username is fixed once created: shown locked on the edit form, never submitted.
    form = UserForm() if user is None else UserEditForm(obj=user)
    form.units.choices = choices((u.name, u.name) for u in services.list_units(db.session))
    form.caseworker.choices = choices(
        [("", "—")]
        + [(c.initials, f"{c.initials} – {c.name}") for c in services.list_caseworkers(db.session)]
    )
    if user is not None and not form.is_submitted():
        form.units.data = [u.name for u in user.units]
        form.caseworker.data = user.caseworker.initials if user.caseworker else ""
    if submit(form, lambda: _save_user(form, user), success=_("Brugeren er gemt.")):
        if user is not None and user.id == current_user.id:
            sessions.restamp(session, user.session_version)  # the admin stays logged in here
        return redirect(url_for("admin.index"))
    return render_template("admin/form.html", form=form, title=_("Bruger"))
