"""The fast paths of a large import keep what a plain import guarantees."""

from __future__ import annotations

import sqlite3
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core import bulk
from core.importing import import_file, with_order_ids
from core.roles import SYSTEM
from core.schema import metadata
from core.tables import Customer, Order


def test_derived_order_ids_never_change():
    # Stored databases hold these ids: a re-import must find them again.
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(["C1", "C1", "C1", "C2", "C3"], dtype="string"),
            "date": pd.to_datetime(
                ["2025-01-02", "2025-01-02", "2025-01-02", "2024-12-31", "2025-03-04"]
            ),
            "amount": [12.5, 12.5, 12.5, 0.1, 1e-05],
            "quantity": pd.array([1, 1, 1, 3, 2], dtype="Int64"),
        }
    )
    assert with_order_ids(frame)["order_id"].tolist() == [
        "tx-c9e724fc5f3f6fe63a7e",
        "tx-4e5038ac33e9470138a7",
        "tx-28948e14294f734b5b6c",
        "tx-0c55070d780a8988d148",
        "tx-5b3547483bb2f9a507da",
    ]
    given = frame.drop(columns="quantity")
    given["order_id"] = pd.Series(["A", None, "B", None, None], dtype=object)
    assert with_order_ids(given)["order_id"].tolist() == [
        "A",
        "tx-4e5038ac33e9470138a7",
        "B",
        "tx-5d9e3127d3ba8867fe8a",
        "tx-1df52a17c4c2699c8df9",
    ]


def _indexes_and_keys(engine) -> dict:
    found = inspect(engine)
    return {
        table: (
            sorted((i["name"], tuple(i["column_names"])) for i in found.get_indexes(table)),
            sorted(
                (k["constrained_columns"][0], k["referred_table"])
                for k in found.get_foreign_keys(table)
            ),
        )
        for table in ("customers", "orders", "order_lines")
    }


def test_a_first_import_leaves_every_index_and_foreign_key(engine, tmp_path, now):
    before = _indexes_and_keys(engine)
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C1"],
            "date": ["2025-01-02", "2025-01-03", "2025-01-04"],
            "amount": ["10", "20.5", "3"],
        }
    ).to_csv(path, index=False)
    first = import_file(engine, kind="transactions", path=path, actor=SYSTEM, now=now)
    again = import_file(engine, kind="transactions", path=path, actor=SYSTEM, now=now)
    assert (first.inserted, first.updated, first.customers_created) == (3, 0, 2)
    assert (again.inserted, again.updated, again.customers_created) == (0, 3, 0)
    assert _indexes_and_keys(engine) == before


def test_indexes_set_aside_come_back_when_the_load_fails(engine):
    before = _indexes_and_keys(engine)
    with (
        pytest.raises(RuntimeError),
        engine.begin() as conn,
        bulk.indexes_set_aside(conn, metadata.tables["orders"]),
    ):
        raise RuntimeError("the load failed")
    assert _indexes_and_keys(engine) == before


def test_a_broken_reference_in_a_bulk_load_changes_nothing(engine):
    orders = pd.DataFrame(
        {"order_id": ["o1"], "customer_id": ["nobody"], "ordered_date": [date(2025, 1, 2)]}
    )
    with (
        # The driver's own error on SQLite (raw fast insert), SQLAlchemy's on PostgreSQL.
        pytest.raises((IntegrityError, sqlite3.IntegrityError), match=r"(?i)foreign key"),
        engine.begin() as conn,
        bulk.indexes_set_aside(conn, metadata.tables["orders"]),
    ):
        bulk.write_frame(conn, Order.__table__, orders, update=False)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from orders")).scalar_one() == 0


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_given(engine):
    names = ["tab\there", "line\nbreak\r", "back\\slash \\N", None, ""]
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(len(names))], "name": names})
    with engine.begin() as conn:
        bulk.write_frame(conn, Customer.__table__, frame, update=False)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("select customer_id, name from customers")).all())
    assert [stored[f"C{i}"] for i in range(len(names))] == names


def test_an_upsert_of_a_key_given_twice_keeps_the_last(engine):
    with engine.begin() as conn:
        bulk.write_frame(
            conn,
            Customer.__table__,
            pd.DataFrame({"customer_id": ["C1", "C1"], "name": ["first", "last"]}),
        )
    with engine.connect() as conn:
        rows = conn.execute(text("select name, consent_email from customers")).all()
    assert [(name, bool(consent)) for name, consent in rows] == [("last", True)]
