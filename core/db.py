"""The one engine factory; SQLite pragmas live here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from core.errors import StaleVersion

# SQLite's answer to a transaction that read an older snapshot and then tried to write.
SQLITE_BUSY_SNAPSHOT = 517


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _install_sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


# Key in a SQLite connection's info: its total_changes when its transaction began.
CHANGES_AT_BEGIN = "easel_changes_at_begin"


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # pysqlite's own transaction handling would defer BEGIN; take it over so that
        # BEGIN IMMEDIATE can be used for writers and SAVEPOINTs behave.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        conn.exec_driver_sql("BEGIN")
        # What the connection had written when the transaction began: while unchanged, a
        # second connection sees the same data (core.reading.reading_beside relies on it).
        conn.info[CHANGES_AT_BEGIN] = conn.connection.driver_connection.total_changes


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def begin_write(session: Session) -> None:
    """Take SQLite's write lock now, before a service reads the rows it is going to change.

    In WAL mode a transaction that has read cannot start writing once another connection has
    committed since that read: SQLite answers "database is locked" at once instead of waiting.
    A write as the transaction's first statement (like BEGIN IMMEDIATE) waits for the busy
    timeout instead, and then reads the latest rows. PostgreSQL needs nothing here.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    try:
        session.connection().exec_driver_sql("UPDATE job_locks SET run_id = run_id WHERE 0")
    except OperationalError as error:
        # The session read before calling the service and someone has committed since:
        # its rows are stale, which the person can fix by reloading.
        if getattr(error.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT:
            raise StaleVersion(
                "Someone else saved a change since this was read; reload and try again."
            ) from None
        raise


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
