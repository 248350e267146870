"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.db import make_engine
from core.roles import Actor, Role
from core.schema import metadata

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def _server_engine() -> Iterator[Engine | None]:
    if not TEST_DATABASE_URL:
        yield None
        return
    engine = make_engine(TEST_DATABASE_URL)
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def engine(tmp_path, _server_engine) -> Iterator[Engine]:
    """An empty database with the current schema."""
    if _server_engine is None:
        engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with _server_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield _server_engine


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def admin() -> Actor:
    return Actor("ada", Role.ADMIN)


@pytest.fixture
def planner() -> Actor:
    return Actor("pat", Role.PLANNER)


@pytest.fixture
def manager() -> Actor:
    return Actor("meg", Role.MANAGER)


@pytest.fixture
def support() -> Actor:
    return Actor("sam", Role.SUPPORT)
