"""The PostgreSQL guard against changed rows (``models_base.refuse_changes_on_postgresql``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, create_mock_engine

import tilsyn.models  # noqa: F401  (every table on db.metadata)
from tilsyn.extensions import db
from tilsyn.models_base import refuse_changes_on_postgresql

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def ddl_of(metadata: MetaData, url: str, tables: list[Table] | None = None) -> list[str]:
    """The statements ``create_all`` sends to a database of ``url``'s dialect."""
    sent: list[str] = []

    def executor(statement: Any, *args: Any, **kwargs: Any) -> None:
        sent.append(str(statement.compile(dialect=engine.dialect)))

    engine = create_mock_engine(url, executor)
    metadata.create_all(engine, tables=tables, checkfirst=False)
    return sent


def migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, MIGRATIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_function_once_then_one_trigger_per_table_on_postgresql_only():
    metadata = MetaData()
    first = Table("first", metadata, Column("id", Integer, primary_key=True))
    second = Table("second", metadata, Column("id", Integer, primary_key=True))
    refuse_changes_on_postgresql(
        [first, second], function="both_refuse", message="'nej'", trigger_suffix="frozen"
    )

    sent = [s.strip() for s in ddl_of(metadata, "postgresql+psycopg://")]
    function = [s for s in sent if s.startswith("CREATE OR REPLACE FUNCTION")]
    triggers = [s for s in sent if s.startswith("CREATE TRIGGER")]
    assert len(function) == 1
    assert function[0].startswith("CREATE OR REPLACE FUNCTION both_refuse() RETURNS trigger")
    assert "MESSAGE = 'nej'," in function[0]
    assert sent.index(function[0]) < sent.index(triggers[0])
    assert triggers == [
        f"CREATE TRIGGER {t}_frozen\nBEFORE UPDATE OR DELETE ON {t}\n"
        "FOR EACH ROW EXECUTE FUNCTION both_refuse()"
        for t in ("first", "second")
    ]
    assert not any("TRIGGER" in s for s in ddl_of(metadata, "sqlite://"))


def test_audit_and_draw_guards_send_the_migrations_sql():
    tables = db.metadata.tables
    audit = ddl_of(db.metadata, "postgresql+psycopg://", [tables["audit_events"]])
    m0004 = migration("0004_audit_append_only_trigger")
    assert audit[-2:] == [m0004.FUNCTION, m0004.TRIGGER]

    draws = ddl_of(db.metadata, "postgresql+psycopg://", [tables["draws"], tables["draw_items"]])
    m0005 = migration("0005_draws_immutable_trigger")
    expected = [m0005.FUNCTION] + [m0005.TRIGGER.format(table=t) for t in m0005.TABLES]
    assert [s for s in draws if "refuse_change" in s] == expected
