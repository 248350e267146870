"""The fast paths of a large import keep what a plain import guarantees."""

from __future__ import annotations

import sqlite3
from datetime import date
from hashlib import sha1

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core import bulk
from core.importing import _sort_key, import_file, with_order_ids
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


def test_late_orders_of_a_first_import_are_in_the_partial_indexes(engine, tmp_path, now):
    # Partial indexes stay in place during a bulk load and take the rows that match as they come.
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\nc1\nc2\n")
    import_file(engine, kind="customers", path=customers, actor=SYSTEM, now=now)
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_date,promised_date,delivered_date,status,amount\n"
        "o1,c1,2026-01-05,2026-01-09,2026-01-12,delivered,12.50\n"
        "o2,c2,2026-02-01,2026-02-06,,placed,3\n"
        "o3,c2,2026-02-02,2026-02-06,2026-02-05,delivered,4\n"
    )
    import_file(engine, kind="orders", path=orders, actor=SYSTEM, now=now)
    late = "select order_id from orders where delivered_date > promised_date order by 1"
    with engine.connect() as conn:
        assert conn.execute(text(late)).scalars().all() == ["o1"]
        if engine.dialect.name == "sqlite":
            # Every index holds exactly the rows it should.
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            for index in ("ix_orders_late_by_date", "ix_orders_late_by_customer"):
                through = late.replace("from orders", f"from orders indexed by {index}")
                assert conn.exec_driver_sql(through).scalars().all() == ["o1"]


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


def _ids_row_by_row(frame: pd.DataFrame) -> list[str]:
    """The derivation as it was first written: one formatted text and SHA-1 per row."""
    customer = frame["customer_id"].astype(str).fillna("")
    day = frame["date"].dt.strftime("%Y-%m-%d").fillna("").astype(str)
    amount = pd.Series(map(repr, frame["amount"].tolist()), index=frame.index, dtype=str)
    quantity = frame["quantity"].astype(str).fillna("")
    content = customer + "\x1f" + day + "\x1f" + amount + "\x1f" + quantity
    occurrence = content.groupby(content, sort=False).cumcount().tolist()
    return [
        "tx-" + sha1(f"{t}\x1f{n}".encode(), usedforsecurity=False).hexdigest()[:20]
        for t, n in zip(content.tolist(), occurrence, strict=True)
    ]


def test_derived_order_ids_are_the_sha1_of_each_rows_text_and_occurrence():
    # The vectorised derivation spells out the per-row formula: text of the row, its
    # occurrence among identical rows, SHA-1 in UTF-8, the first 20 hex digits.
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(["Zoë", "Zoë", None, "C2", "Zoë", "C2"], dtype=object),
            "date": pd.to_datetime(["2025-01-02"] * 3 + [None, "2025-01-02", None]),
            "amount": [0.1 + 0.2, 0.1 + 0.2, 1e300, float("nan"), 0.3, float("nan")],
            "quantity": pd.array([2, 2, None, 1, 2, 1], dtype="Int64"),
        }
    )
    assert with_order_ids(frame)["order_id"].tolist() == _ids_row_by_row(frame)
    assert with_order_ids(frame.iloc[:0])["order_id"].tolist() == []


def test_rows_every_row_shares_a_value_of_are_stored_as_given(engine):
    # A value every row shares is bound once; 1, 1.0 and True are not taken for one value.
    frame = pd.DataFrame(
        {
            "sku": [f"S{i}" for i in range(1201)],
            "name": "paint",
            "category": pd.Series(["c"] * 1200 + [None], dtype=object),
            "supplier_id": "P1",
            "price": [1.0] * 1200 + [1],
            "unit_cost": 0.5,
            "replenishment_days": None,
            "reorder_point": 3,
            "active": [True] * 1200 + [False],
        }
    )
    with engine.begin() as conn:
        bulk.write_frame(
            conn,
            metadata.tables["suppliers"],
            pd.DataFrame({"supplier_id": ["P1"], "name": ["p"], "lead_time_days": [5]}),
            update=False,
        )
        frame["category"] = frame["category"].fillna("d")
        bulk.write_frame(conn, metadata.tables["products"], frame, update=False, chunk_rows=700)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select sku, name, category, price, unit_cost, replenishment_days, reorder_point,"
                " active, is_consumable from products order by sku"
            )
        ).all()
    expected = sorted(
        (f"S{i}", "paint", "c" if i < 1200 else "d", 1.0, 0.5, None, 3, i < 1200, False)
        for i in range(1201)
    )
    assert [(*r[:7], bool(r[7]), bool(r[8])) for r in rows] == expected


def test_values_of_every_plain_type_come_back_as_written(engine):
    # SQLite binds them; PostgreSQL's COPY reads them as CSV that arrow writes.
    amounts = [0.1 + 0.2, 1e300, 5e-324, -1.5, 1 / 3, 2.5e-8, 36.17]
    names = ["", None, 'quote " and, comma', "tab\t\\N\\.", "line\nbreak\r", "Zoë", "\\."]
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(7)],
            "name": pd.Series(names, dtype=object),
            "signup_date": pd.to_datetime(
                ["2024-06-01", None, "1970-01-01", "2026-12-31", None, "2000-02-29", "1999-01-01"]
            ),
            "consent_sms": pd.array([True, False, None, True, False, True, False], "boolean"),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(7)],
            "customer_id": frame["customer_id"],
            "ordered_date": pd.Series([date(2025, 1, i + 1) for i in range(7)], dtype=object),
            "amount": amounts,
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "line_no": pd.array([1, 2, 3, 4, 5, 6, 2**31 - 1], dtype="Int64"),
            "quantity": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    frame["consent_sms"] = frame["consent_sms"].fillna(False)
    with engine.begin() as conn:
        bulk.write_frame(conn, Customer.__table__, frame, update=False)
        bulk.write_frame(conn, Order.__table__, orders, update=False)
        bulk.write_frame(conn, metadata.tables["order_lines"], lines, update=False)
    with engine.connect() as conn:
        customers = conn.execute(
            text("select name, signup_date, consent_sms from customers order by customer_id")
        ).all()
        stored = conn.execute(text("select amount from orders order by order_id")).scalars()
        stored = list(stored)
        numbers = conn.execute(
            text("select line_no, quantity from order_lines order by order_id")
        ).all()
    assert [c.name for c in customers] == names
    assert [str(c.signup_date) if c.signup_date else None for c in customers] == [
        "2024-06-01",
        None,
        "1970-01-01",
        "2026-12-31",
        None,
        "2000-02-29",
        "1999-01-01",
    ]
    assert [bool(c.consent_sms) for c in customers] == [
        True,
        False,
        False,
        True,
        False,
        True,
        False,
    ]
    assert [repr(a) for a in stored] == [repr(a) for a in amounts]  # the very same doubles
    assert [tuple(n) for n in numbers] == [
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 4),
        (5, 5),
        (6, 6),
        (2**31 - 1, 7),
    ]


def test_a_large_import_gathers_the_planners_statistics_on_postgresql(
    engine, tmp_path, now, monkeypatch
):
    if engine.dialect.name != "postgresql":
        pytest.skip("statistics for PostgreSQL's planner")
    monkeypatch.setattr(bulk, "ANALYZE_ROWS", 3)
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {
            "customer_id": ["planned-1", "planned-2", "planned-1"],
            "date": ["2025-01-02", "2025-01-03", "2025-01-04"],
            "amount": ["10", "20.5", "3"],
        }
    ).to_csv(path, index=False)
    import_file(engine, kind="transactions", path=path, actor=SYSTEM, now=now)
    with engine.connect() as conn:
        seen = conn.execute(
            text(
                "select tablename, coalesce(most_common_vals::text, '') "
                "|| coalesce(histogram_bounds::text, '') from pg_stats "
                "where schemaname = current_schema() and attname = 'customer_id' "
                "and tablename in ('customers', 'orders')"
            )
        ).all()
    # This import's own values: statistics gathered now, not left from an earlier test.
    assert sorted(table for table, values in seen if "planned-1" in values) == [
        "customers",
        "orders",
    ]


def test_times_come_back_as_the_same_instants(engine):
    # PostgreSQL's COPY reads them as CSV text, each distinct time formatted once.
    runs = pd.DataFrame(
        {
            "job": ["a", "b", "c", "d"],
            "scheduled_for": pd.to_datetime(
                [
                    "2026-06-14T07:00:00.123456+00:00",
                    "2026-06-14T09:00:00+02:00",
                    "2026-06-14T07:00:00.123456+00:00",
                    "1999-12-31T23:59:59+00:00",
                ],
                utc=True,
                format="ISO8601",
            ),
            "finished_at": pd.to_datetime(
                [None, "2026-06-15T00:00:01+00:00", None, "2000-01-01T00:00:00+00:00"], utc=True
            ),
        }
    )
    with engine.begin() as conn:
        bulk.write_frame(conn, metadata.tables["job_runs"], runs, update=False)
    with engine.connect() as conn:
        stored = conn.execute(
            text("select scheduled_for, finished_at from job_runs order by job")
        ).all()

    def instant(value):
        if value is None:
            return None
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")

    assert [(instant(s), instant(f)) for s, f in stored] == [
        (pd.Timestamp("2026-06-14T07:00:00.123456Z"), None),
        (pd.Timestamp("2026-06-14T07:00:00Z"), pd.Timestamp("2026-06-15T00:00:01Z")),
        (pd.Timestamp("2026-06-14T07:00:00.123456Z"), None),
        (pd.Timestamp("1999-12-31T23:59:59Z"), pd.Timestamp("2000-01-01T00:00:00Z")),
    ]


def test_the_write_order_of_ids_is_their_byte_order():
    ids = [
        "tx-b7",
        "tx-a",
        "tx-ab",
        "tx-",
        "zz",
        "a",
        "Zoë",
        "Zoe",
    ]
    for column in (pd.Series(ids, dtype="str"), pd.Series(ids, dtype=object)):
        order = np.argsort(_sort_key(column), kind="stable")
        assert column.iloc[order].tolist() == sorted(ids, key=str.encode)
    assert _sort_key(pd.Series([], dtype="str")).tolist() == []
    # Past the prefix all share, 8 bytes decide: derived ids, 20 hex digits after "tx-".
    derived = pd.Series(["tx-00000000ff", "tx-00000001aa", "tx-0000000000"], dtype="str")
    assert derived.iloc[np.argsort(_sort_key(derived))].tolist() == sorted(derived)
