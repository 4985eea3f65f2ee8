"""A demo municipality built once for the results tests (its own SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import RequestIsolatedClient
from tilsyn import create_app
from tilsyn.demo import build_demo
from tilsyn.extensions import db

DEMO_TODAY = date(2026, 10, 1)
DEMO_PASSWORD = "demo-adgang-1"


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    path: Path = tmp_path_factory.mktemp("results-demo") / "demo.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        db.create_all()
        build_demo(db.session, seed=2026, password=DEMO_PASSWORD, today=DEMO_TODAY)
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
