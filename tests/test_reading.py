"""Reading frames: reads beside the caller's connection see what the caller would see."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from pandas.errors import DatabaseError
from sqlalchemy import column, insert, select, table
from sqlalchemy.exc import DBAPIError

from core import reading, tables
from core.reading import reading_beside

SUPPLIERS = tables.Supplier.__table__


def _supplier(supplier_id: str) -> dict:
    return {"supplier_id": supplier_id, "name": supplier_id.title(), "lead_time_days": 7}


def _where_read(monkeypatch) -> list[int]:
    threads: list[int] = []
    original = reading.read_frame

    def spy(conn, statement, **kw):
        threads.append(threading.get_ident())
        return original(conn, statement, **kw)

    monkeypatch.setattr(reading, "read_frame", spy)
    return threads


def _fetches(monkeypatch) -> list[tuple]:
    """(connection, SQL) of every fetch of rows from SQLite."""
    seen: list[tuple] = []
    original = reading._read_sqlite

    def spy(conn, sql, params, statement, *args):
        seen.append((conn, sql))
        return original(conn, sql, params, statement, *args)

    monkeypatch.setattr(reading, "_read_sqlite", spy)
    return seen


def test_a_read_beside_sees_the_committed_data(engine, monkeypatch):
    with engine.begin() as conn:
        conn.execute(insert(SUPPLIERS), [_supplier("acme"), _supplier("brush")])
    threads, fetches = _where_read(monkeypatch), _fetches(monkeypatch)
    with engine.connect() as conn:
        conn.execute(select(SUPPLIERS.c.supplier_id)).all()  # the transaction has begun
        with reading_beside(conn) as beside:
            read = beside(select(SUPPLIERS.c.supplier_id).order_by(SUPPLIERS.c.supplier_id))
            names = select(SUPPLIERS.c.name).order_by(SUPPLIERS.c.supplier_id)
            assert beside(names).result()["name"].tolist() == ["Acme", "Brush"]
            beside_driver = fetches[0][0].connection.driver_connection if fetches else None
        # Asked for after the block: fetched as the block ended.
        assert read.result()["supplier_id"].tolist() == ["acme", "brush"]
    if engine.dialect.name == "sqlite":
        # The SQL ran on a second connection into temporary tables, fetched from there.
        assert threads == []
        assert [sql for _, sql in fetches] == [
            "SELECT * FROM temp.easel_beside_1",
            "SELECT * FROM temp.easel_beside_0",
        ]
        assert all(other is not conn for other, _ in fetches)
        # The second connection went back to the pool without its temporary tables.
        left = beside_driver.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()
        assert left == (0,)
    else:
        assert threads == [threading.get_ident()] * 2


def test_after_a_write_in_the_transaction_the_read_runs_here_and_sees_it(engine, monkeypatch):
    threads = _where_read(monkeypatch)
    with engine.connect() as conn:
        conn.execute(insert(SUPPLIERS), [_supplier("uncommitted")])
        with reading_beside(conn) as beside:
            read = beside(select(SUPPLIERS.c.supplier_id))
        assert read.result()["supplier_id"].tolist() == ["uncommitted"]
        conn.rollback()
    assert threads == [threading.get_ident()]


def test_an_error_beside_reaches_the_caller(engine):
    missing = select(column("x")).select_from(table("no_such_table"))
    with engine.connect() as conn:
        conn.execute(select(SUPPLIERS.c.supplier_id)).all()
        # The driver's own error on SQLite (rows come straight from it), pandas' elsewhere.
        with pytest.raises((sqlite3.Error, DBAPIError, DatabaseError), match="no_such_table"):  # noqa: SIM117
            with reading_beside(conn) as beside:
                beside(missing).result()
