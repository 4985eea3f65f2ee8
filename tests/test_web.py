"""One commit per request and service errors as flashed messages (tilsyn.web)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Blueprint, Flask, abort, get_flashed_messages, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, Forbidden, NotFound

from tilsyn.audit import services as audit
from tilsyn.audit.models import AuditEvent
from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.extensions import db
from tilsyn.formutil import button_form
from tilsyn.permissions import public
from tilsyn.web import (
    Attempt,
    attempt,
    chosen_or_400,
    new_or_edit,
    optional_or_404,
    page_or_404,
    redirect_back,
    safe_next,
    submit,
)


def _events(session: Session, action: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).where(AuditEvent.action == action)) or 0


@pytest.fixture
def web_app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()

    def write(action: str) -> None:
        audit.record(db.session, None, action, "test")
        db.session.flush()

    def ok() -> str:
        write("web-ok")
        return "ok"

    def denied() -> str:
        write("web-denied")
        abort(403)

    def fails() -> str:
        write("web-fails")
        raise RuntimeError("boom")

    def refused() -> tuple[str, int]:
        def service() -> None:
            write("web-refused")
            raise ServiceError("Ikke muligt her.")

        done = attempt(service, success="aldrig")
        return f"{bool(done)}|{'|'.join(get_flashed_messages())}", 200

    def forbidden() -> str:
        def service() -> None:
            raise ServiceAccessError("nej")

        attempt(service)
        return "unreachable"

    def succeeds() -> str:
        done = attempt(lambda: 41 + 1, success=lambda n: f"svar {n}")
        return f"{done.value}|{'|'.join(get_flashed_messages())}"

    for name, view in {
        "ok": ok,
        "denied": denied,
        "fails": fails,
        "refused": refused,
        "forbidden": forbidden,
        "succeeds": succeeds,
    }.items():
        app.add_url_rule(f"/_test/{name}", name, public(view))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_successful_request_commits_its_work_once(web_app: Flask, session: Session) -> None:
    assert web_app.test_client().get("/_test/ok").status_code == 200
    assert _events(session, "web-ok") == 1


@pytest.mark.parametrize(("path", "status"), [("denied", 403), ("fails", 500)])
def test_an_error_response_or_exception_writes_nothing(
    web_app: Flask, session: Session, path: str, status: int
) -> None:
    assert web_app.test_client().get(f"/_test/{path}").status_code == status
    assert _events(session, f"web-{path}") == 0


def test_a_service_error_is_rolled_back_and_flashed(web_app: Flask, session: Session) -> None:
    response = web_app.test_client().get("/_test/refused")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "False|Ikke muligt her."
    assert _events(session, "web-refused") == 0


def test_an_access_error_answers_403(web_app: Flask) -> None:
    assert web_app.test_client().get("/_test/forbidden").status_code == 403


def test_success_gives_the_result_and_flashes_from_it(web_app: Flask) -> None:
    assert web_app.test_client().get("/_test/succeeds").get_data(as_text=True) == "42|svar 42"


def test_a_refused_attempt_has_no_result() -> None:
    refused: Attempt[Any] = Attempt(False)
    assert not refused
    with pytest.raises(RuntimeError):
        _ = refused.value


class _Form:
    """Stands in for a posted form that is valid or not."""

    def __init__(self, valid: bool) -> None:
        self.valid = valid

    def validate_on_submit(self) -> bool:
        return self.valid


@pytest.mark.parametrize("valid", [True, False])
def test_submit_runs_the_action_only_for_a_valid_form(app: Flask, valid: bool) -> None:
    calls: list[str] = []

    def action() -> str:
        calls.append("ran")
        return "saved"

    with app.test_request_context(method="POST"):
        done = submit(_Form(valid), action, invalid="Udløbet.", success="Gemt.")
        flashed = get_flashed_messages()
    assert bool(done) is valid
    assert calls == (["ran"] if valid else [])
    assert flashed == (["Gemt."] if valid else ["Udløbet."])


def test_submit_flashes_nothing_for_an_invalid_form_without_a_message(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        assert not submit(_Form(False), lambda: None)
        assert get_flashed_messages() == []


def test_submit_passes_service_errors_to_on_error(app: Flask) -> None:
    seen: list[str] = []

    def refuse() -> None:
        raise ServiceError("Nej.")

    with app.test_request_context(method="POST"):
        assert not submit(_Form(True), refuse, on_error=lambda exc: seen.append(str(exc)))
        assert get_flashed_messages() == []
    assert seen == ["Nej."]


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/opfoelgning/?status=open", True),
        ("/", True),
        ("", False),
        (None, False),
        ("//evil.example/", False),
        ("https://evil.example/", False),
        ("javascript:alert(1)", False),
        ("relative/path", False),
        ("/\\evil.example/", False),
        ("/\t/evil.example/", False),
        ("/\n/evil.example/", False),
    ],
)
def test_safe_next_keeps_only_paths_on_this_site(target: str | None, safe: bool) -> None:
    assert safe_next(target) == (target if safe else None)


@pytest.mark.parametrize(
    ("posted", "location"), [({"next": "/mine-sager"}, "/mine-sager"), ({"next": "//x"}, "/")]
)
def test_redirect_back_goes_to_next_or_the_endpoint(
    app: Flask, posted: dict[str, str], location: str
) -> None:
    with app.test_request_context(method="POST", data=posted):
        assert redirect_back("core.index").location == location


def test_page_or_404_turns_service_refusals_into_403_and_404() -> None:
    def refuse(error: Exception) -> Callable[[], None]:
        def load() -> None:
            raise error

        return load

    assert page_or_404(lambda: "page") == "page"
    with pytest.raises(Forbidden):
        page_or_404(refuse(ServiceAccessError("nej")))
    with pytest.raises(NotFound):
        page_or_404(refuse(ServiceError("findes ikke")))


def test_optional_or_404_is_none_without_an_id_and_404_for_a_missing_row(
    session: Session,
) -> None:
    event = audit.record(session, None, "web-optional", "test")
    session.flush()
    assert optional_or_404(AuditEvent, None) is None
    assert optional_or_404(AuditEvent, event.id) is event
    with pytest.raises(NotFound):
        optional_or_404(AuditEvent, event.id + 1000)


def test_chosen_or_400_refuses_an_id_that_is_no_row(session: Session) -> None:
    event = audit.record(session, None, "web-chosen", "test")
    session.flush()
    assert chosen_or_400(AuditEvent, event.id) is event
    with pytest.raises(BadRequest):
        chosen_or_400(AuditEvent, event.id + 1000)


def test_new_or_edit_routes_both_urls_to_one_view(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    bp = Blueprint("things", __name__, url_prefix="/ting")

    @new_or_edit(bp, "/ny", "/<int:thing_id>/rediger")
    @public
    def edit(thing_id: int | None) -> str:
        return repr(thing_id)

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/ting/ny").get_data(as_text=True) == "None"
    assert client.post("/ting/7/rediger").get_data(as_text=True) == "7"
    with app.test_request_context():
        assert url_for("things.edit") == "/ting/ny"
        assert url_for("things.edit", thing_id=7) == "/ting/7/rediger"


def test_button_form_is_one_labelled_submit_button_with_csrf(
    make_app: Callable[..., Flask],
) -> None:
    form_class = button_form("Kvittér", "AcknowledgeForm")
    with make_app(WTF_CSRF_ENABLED=True).test_request_context(method="POST"):
        form = form_class()
        assert form_class.__name__ == "AcknowledgeForm"
        assert sorted(field.name for field in form) == ["csrf_token", "submit"]
        assert form["submit"].label.text == "Kvittér"
