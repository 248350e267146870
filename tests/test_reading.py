"""Reading frames: reads beside the caller's connection see what the caller would see, and
a read in a reader process gives the frame the caller's own read gives."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date

import adbc_driver_manager
import pandas as pd
import pytest
from pandas.errors import DatabaseError
from sqlalchemy import column, insert, select, table
from sqlalchemy.exc import DBAPIError

from core import arrow_reads, reading, tables
from core.reading import read_frame, reading_beside

SUPPLIERS = tables.Supplier.__table__
CUSTOMERS = tables.Customer.__table__
ORDERS = tables.Order.__table__


def _supplier(supplier_id: str) -> dict:
    return {"supplier_id": supplier_id, "name": supplier_id.title(), "lead_time_days": 7}


def _row_reads(monkeypatch) -> list[str]:
    """The SQL of every read of rows through this process's sqlite3 module."""
    seen: list[str] = []
    original = reading._read_sqlite

    def spy(conn, sql, *args):
        seen.append(sql)
        return original(conn, sql, *args)

    monkeypatch.setattr(reading, "_read_sqlite", spy)
    return seen


def _driver_reads(monkeypatch) -> list[str]:
    """The SQL of every read through the ADBC driver of each database."""
    seen: list[str] = []
    for name in ("read", "read_postgresql"):
        original = getattr(arrow_reads, name)

        def spy(*args, original=original):
            seen.append(args[-2])
            return original(*args)

        monkeypatch.setattr(arrow_reads, name, spy)
    return seen


def test_a_read_beside_sees_the_committed_data(engine, monkeypatch):
    with engine.begin() as conn:
        conn.execute(insert(SUPPLIERS), [_supplier("acme"), _supplier("brush")])
    rows, driver = _row_reads(monkeypatch), _driver_reads(monkeypatch)
    with engine.connect() as conn:
        conn.execute(select(SUPPLIERS.c.supplier_id)).all()  # the transaction has begun
        with reading_beside(conn) as beside:
            read = beside(select(SUPPLIERS.c.supplier_id).order_by(SUPPLIERS.c.supplier_id))
            names = select(SUPPLIERS.c.name).order_by(SUPPLIERS.c.supplier_id)
            assert beside(names).result()["name"].tolist() == ["Acme", "Brush"]
        # Asked for after the block: ready as the block ended.
        assert read.result()["supplier_id"].tolist() == ["acme", "brush"]
    # Both were read through a driver of Arrow columns (on SQLite in reader processes), none
    # here row by row.
    assert rows == [] and len(driver) == 2


@pytest.mark.parametrize("at_once", [1, 2])
def test_at_once_says_how_many_reads_run_together(engine, monkeypatch, at_once):
    """Each read waits until `at_once` reads have begun: the block finishes only if that many
    run together, and never more do."""
    together = threading.Barrier(at_once, timeout=10)
    running, most = [0], [0]
    lock = threading.Lock()
    for name in ("read", "read_postgresql"):
        original = getattr(arrow_reads, name)

        def spy(*args, original=original):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            together.wait()
            try:
                return original(*args)
            finally:
                with lock:
                    running[0] -= 1

        monkeypatch.setattr(arrow_reads, name, spy)
    with engine.connect() as conn:
        with reading_beside(conn, at_once=at_once) as beside:
            reads = [beside(select(SUPPLIERS.c.supplier_id)) for _ in range(4)]
        assert all(read.result().empty for read in reads)
    assert most[0] == at_once


def test_after_a_write_in_the_transaction_the_read_runs_here_and_sees_it(engine, monkeypatch):
    rows = _row_reads(monkeypatch)
    with engine.connect() as conn:
        conn.execute(insert(SUPPLIERS), [_supplier("uncommitted")])
        with reading_beside(conn) as beside:
            read = beside(select(SUPPLIERS.c.supplier_id))
        assert read.result()["supplier_id"].tolist() == ["uncommitted"]
        conn.rollback()
    assert len(rows) == (1 if engine.dialect.name == "sqlite" else 0)


def test_a_write_after_reads_beside_commits(engine):
    """The reader processes leave no lock behind that would stop the caller's transaction."""
    with engine.connect() as conn:
        conn.execute(select(SUPPLIERS.c.supplier_id)).all()
        with reading_beside(conn) as beside:
            assert beside(select(SUPPLIERS.c.supplier_id)).result().empty
        conn.execute(insert(SUPPLIERS), [_supplier("after")])
        conn.commit()
    with engine.connect() as conn:
        assert read_frame(conn, select(SUPPLIERS.c.supplier_id))["supplier_id"].tolist() == [
            "after"
        ]


def test_an_error_beside_reaches_the_caller(engine):
    missing = select(column("x")).select_from(table("no_such_table"))
    with engine.connect() as conn:
        conn.execute(select(SUPPLIERS.c.supplier_id)).all()
        # sqlite3's error on SQLite, the ADBC driver's on PostgreSQL, pandas' elsewhere.
        errors = (sqlite3.Error, adbc_driver_manager.Error, DBAPIError, DatabaseError)
        with pytest.raises(errors, match="no_such_table"):  # noqa: SIM117
            with reading_beside(conn) as beside:
                beside(missing).result()


def _orders(n: int) -> list[dict]:
    """Orders whose first `n` have no delivery date yet, then delivered ones."""
    return [
        {
            "order_id": f"O{i:05d}",
            "customer_id": "C1",
            "ordered_date": date(2026, 1, 1 + i % 28),
            "promised_date": date(2026, 2, 1),
            "delivered_date": None if i < n else date(2026, 2, 1 + i % 20),
            "status": "cancelled" if i % 7 == 0 else "delivered",
            "amount": 10.5 + i,
        }
        for i in range(n + 50)
    ]


@pytest.mark.parametrize("undelivered_first", [3, 3000])
def test_a_read_beside_gives_the_frame_read_here(engine, monkeypatch, undelivered_first):
    """Dates, text, reals and NULLs alike; a column that starts with more NULLs than the
    reader's driver looks at to type it is read here instead, to the same frame."""
    with engine.begin() as conn:
        conn.execute(insert(CUSTOMERS), [{"customer_id": "C1", "email": "c1@example.com"}])
        conn.execute(insert(ORDERS), _orders(undelivered_first))
    statement = select(
        ORDERS.c.order_id,
        ORDERS.c.ordered_date,
        ORDERS.c.delivered_date,
        ORDERS.c.status,
        ORDERS.c.amount,
    ).order_by(ORDERS.c.order_id)
    with engine.connect() as conn:
        here = read_frame(conn, statement)
        rows = _row_reads(monkeypatch)
        with reading_beside(conn) as beside:
            there = beside(statement).result()
    pd.testing.assert_frame_equal(there, here)
    assert there["delivered_date"].isna().sum() == undelivered_first
    assert str(there["ordered_date"].dtype) == "datetime64[s]"
    if engine.dialect.name == "sqlite":
        assert len(rows) == (1 if undelivered_first > 1024 else 0)


def test_a_reader_that_ended_while_idle_is_replaced(tmp_path):
    """Reader processes kept for the next reads may end meanwhile (killed, say): the next
    read starts a new one; a query's own error leaves its reader serving."""
    path = tmp_path / "readers.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (1), (2)")
    db.close()
    assert arrow_reads.read(str(path), 1000, "SELECT x FROM t", []).num_rows == 2
    with pytest.raises(arrow_reads.QueryError, match="no such table"):
        arrow_reads.read(str(path), 1000, "SELECT x FROM missing", [])
    for reader in arrow_reads._idle:
        reader.process.kill()
        reader.process.wait()
    table = arrow_reads.read(str(path), 1000, "SELECT x FROM t WHERE x > ?", [1])
    assert table.column("x").to_pylist() == [2]
