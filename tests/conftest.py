"""Shared fixtures: app, database (SQLite or PostgreSQL), client, login_as(role)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

os.environ["TILSYN_ENV"] = "testing"

from tests import factories
from tilsyn import create_app
from tilsyn.demo_export import DemoExport, write_export
from tilsyn.extensions import db as _db


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default="sqlite",
        choices=["sqlite", "postgresql"],
        help="database for tests using the app; postgresql reads TILSYN_TEST_DATABASE_URL",
    )


#: Seed and as-of date of the example export the import tests read (``tilsyn demo export``).
SAMPLE_SEED = 2026
SAMPLE_AS_OF = date(2026, 9, 30)


def _keep_mutation_selection(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``make mutation`` mutates one module at a time and sets ``TILSYN_MUTATION_TESTS`` to the
    test files (node id prefixes, space-separated) that speak for that module, so that mutmut
    runs only those against each mutant."""
    prefixes = tuple(os.environ.get("TILSYN_MUTATION_TESTS", "").split())
    if not prefixes:
        return
    drop = [item for item in items if not item.nodeid.startswith(prefixes)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item.nodeid.startswith(prefixes)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the SQLite run, leave out the PostgreSQL-only tests; on the PostgreSQL run, keep only
    the tests that touch the database. Under ``make mutation``, keep only the module's tests."""
    _keep_mutation_selection(config, items)
    if config.getoption("--db") != "postgresql":
        pg_only = [item for item in items if item.get_closest_marker("postgresql_only")]
        if pg_only:
            config.hook.pytest_deselected(items=pg_only)
            items[:] = [item for item in items if item not in pg_only]
        return
    keep, drop = [], []
    for item in items:
        uses_db = "app" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "browser"
        )
        (keep if uses_db else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def sample_export_info(tmp_path_factory: pytest.TempPathFactory) -> DemoExport:
    """A realistic case-system export made by the demo generator (``tilsyn demo export``)."""
    path = tmp_path_factory.mktemp("export") / "sagsudtraek-eksempel.csv"
    return write_export(path, seed=SAMPLE_SEED, as_of=SAMPLE_AS_OF)


@pytest.fixture(scope="session")
def sample_export(sample_export_info: DemoExport) -> Path:
    """The path of the example export (see :func:`sample_export_info`)."""
    return sample_export_info.path


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "postgresql":
        url = os.environ.get("TILSYN_TEST_DATABASE_URL")
        if not url:
            if os.environ.get("CI") == "true":
                pytest.fail("TILSYN_TEST_DATABASE_URL is not set for the PostgreSQL run")
            pytest.skip("PostgreSQL not available (run through tests/infra/with-postgres.sh)")
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db')}/tilsyn-test.sqlite"


class RequestIsolatedClient(FlaskClient):
    """A test client whose requests do not share per-request caches.

    Tests keep an app context pushed (see ``session``), and Flask reuses it for every request,
    so Flask-Login's ``g._login_user`` and Flask-Babel's ``g._flask_babel`` (the locale) would
    leak from one request (and client) to the next. In production each request has its own app
    context; this client restores that.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("_flask_babel", None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Make further apps on the test database with config overrides; their engines (and so
    their pooled connections) are disposed of after the test, as a worker's would be."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        other = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's session inside a pushed app context; every table is emptied afterwards."""
    with app.app_context():
        yield _db.session
        _db.session.rollback()
        factories.empty_database(_db.session)


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def org(session: Session) -> factories.Org:
    """Two units, four caseworkers and one user per role (plus a second caseworker user)."""
    return factories.make_org(session)


@pytest.fixture
def login_as(client: FlaskClient, org: factories.Org) -> Callable[[str], FlaskClient]:
    def login(username: str) -> FlaskClient:
        client.post("/logout")
        response = client.post(
            "/login", data={"username": username, "password": factories.PASSWORD}
        )
        assert response.status_code == 302, f"login as {username} failed"
        return client

    return login
