"""One commit per request and service errors as flashed messages (tilsyn.web)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, abort, get_flashed_messages
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.audit.models import AuditEvent
from tilsyn.errors import ServiceAccessError, ServiceError
from tilsyn.extensions import db
from tilsyn.permissions import public
from tilsyn.web import Attempt, attempt


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
