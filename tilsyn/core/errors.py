"""Danish error pages."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from tilsyn.extensions import db

MESSAGES = {
    400: (
        _l("Ugyldig forespørgsel"),
        _l("Forespørgslen kunne ikke forstås. Prøv igen fra forsiden."),
    ),
    403: (_l("Ingen adgang"), _l("Du har ikke adgang til denne side.")),
    404: (_l("Siden findes ikke"), _l("Vi kunne ikke finde den side, du bad om.")),
    405: (_l("Ikke tilladt"), _l("Handlingen er ikke tilladt på denne side.")),
    413: (_l("Filen er for stor"), _l("Den uploadede fil er større end tilladt.")),
    500: (_l("Der opstod en fejl"), _l("Der skete en uventet fejl. Intet er gemt. Prøv igen.")),
}


def register_error_handlers(app: Flask) -> None:
    def render(code: int) -> tuple[str, int]:
        title, text = MESSAGES.get(code, MESSAGES[500])
        return render_template("errors/error.html", code=code, title=title, text=text), code

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        if code == 400 and "CSRF" in str(exc.description):
            return render_template(
                "errors/error.html",
                code=400,
                title=_l("Formularen er udløbet"),
                text=_l(
                    "Sikkerhedsnøglen i formularen manglede eller var udløbet. Indlæs siden igen."
                ),
            ), 400
        return render(code)

    @app.errorhandler(500)
    def server_error(exc: Exception) -> tuple[str, int]:
        db.session.rollback()
        return render(500)
