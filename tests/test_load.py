"""The load run, shortened to 15 s (the 60 s run is ``make bench``): gunicorn with 2 workers on
PostgreSQL with the demo and 8 concurrent clients; no error, no lost write."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tilsyn.settings import ROOT


def _bench_load():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "bench_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_database(app, database_url):
    """A database of its own on the test server (the load run empties and fills it)."""
    url = make_url(database_url)
    name = f"{url.database}_load"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgresql_only
def test_load_run_15_seconds_without_errors_or_lost_writes(load_database, capsys):
    bench = _bench_load()
    result = bench.run_load(load_database, 15)
    with capsys.disabled():
        print("\n" + result.report())
    assert result.errors == []
    assert result.lost == []
    assert result.saves >= 4 and result.reviews_written >= 4
    for page in ("review page", "review save", "my cases", "overview"):
        assert result.timings.get(page), page
