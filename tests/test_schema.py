"""Migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from core import schema
from core.db import make_engine
from tests.conftest import TEST_DATABASE_URL


def _assert_upgrade_matches_models(engine):
    schema.upgrade(engine)
    schema.upgrade(engine)  # a second upgrade is a no-op
    assert schema.is_initialised(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, schema.metadata)
    assert differences == []
    assert {"customers", "orders", "audit_events", "users", "job_runs"} <= set(
        inspect(engine).get_table_names()
    )


def test_migrations_match_models_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    _assert_upgrade_matches_models(engine)


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234


def test_migrations_match_models_on_postgresql():
    if not TEST_DATABASE_URL:
        import pytest

        pytest.skip("PostgreSQL runs when TEST_DATABASE_URL is set")
    server = make_engine(TEST_DATABASE_URL)
    name = f"easel_migrations_{uuid.uuid4().hex[:8]}"
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    fresh = make_engine(
        make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    )
    try:
        _assert_upgrade_matches_models(fresh)
    finally:
        fresh.dispose()
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()
