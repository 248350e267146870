"""Features as of a date: no leakage, empty sources, and the figures themselves."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core import demo, features, reading, tables
from core.bulk import write_frame
from core.features import (
    COLUMNS,
    DETAIL_DAYS,
    FEATURES,
    TRANSACTION_FEATURES,
    build_features,
    load_frames,
)
from tests.churn_data import generate

AS_OF = date(2025, 1, 15)


def _orders(rows):
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_date", "amount"])
    return {"orders": frame}


def _rich_frames():
    frames = generate(400, seed=3, rich=True)
    orders = frames["orders"]
    frames["order_lines"] = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "sku": np.where(np.arange(len(orders)) % 2 == 0, "PAINT", "BRUSH"),
            "quantity": 1,
            "backordered": np.arange(len(orders)) % 7 == 0,
        }
    )
    frames["products"] = pd.DataFrame(
        {
            "sku": ["PAINT", "BRUSH"],
            "category": ["paint", "tools"],
            "is_consumable": [True, False],
            "replenishment_days": [30, None],
        }
    )
    frames["returns"] = pd.DataFrame(
        {
            "return_id": ["r1", "r2"],
            "order_id": orders["order_id"].iloc[:2].to_numpy(),
            "returned_date": [AS_OF, date(2025, 3, 1)],
        }
    )
    customers = orders["customer_id"].unique()
    frames["support_tickets"] = pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(len(customers))],
            "customer_id": customers,
            "opened_date": [date(2024, 12, 1 + i % 28) for i in range(len(customers))],
            "is_complaint": [i % 3 == 0 for i in range(len(customers))],
        }
    )
    frames["browsing_events"] = pd.DataFrame(
        {
            "customer_id": customers,
            "event_date": [date(2024, 11, 1 + i % 30) for i in range(len(customers))],
        }
    )
    frames["customers"] = pd.DataFrame(
        {
            "customer_id": customers,
            "signup_date": date(2022, 12, 1),
            "consent_email": [i % 2 == 0 for i in range(len(customers))],
            "consent_sms": False,
            "consent_post": False,
        }
    )
    return frames


def _after(frames: dict, day: date) -> dict:
    """The same frames plus activity of every kind after `day` (a new customer too)."""
    out = {k: v.copy() for k, v in frames.items()}
    customers = [*frames["orders"]["customer_id"].unique()[:50], "newcomer"]
    extra = pd.DataFrame(
        {
            "order_id": [f"late{i}" for i in range(len(customers))],
            "customer_id": customers,
            "ordered_date": [day + pd.Timedelta(days=1 + i % 20) for i in range(len(customers))],
            "amount": 99.0,
            "promised_date": day,
            "delivered_date": day + pd.Timedelta(days=40),
            "status": "delivered",
            "discount_amount": 50.0,
        }
    )
    extra["ordered_date"] = pd.to_datetime(extra["ordered_date"]).dt.date
    extra["delivered_date"] = pd.to_datetime(extra["delivered_date"]).dt.date
    out["orders"] = pd.concat([out["orders"], extra], ignore_index=True)
    out["order_lines"] = pd.concat(
        [
            out["order_lines"],
            pd.DataFrame(
                {"order_id": extra["order_id"], "sku": "PAINT", "quantity": 1, "backordered": True}
            ),
        ],
        ignore_index=True,
    )
    later = pd.Timestamp(day) + pd.Timedelta(days=3)
    out["support_tickets"] = pd.concat(
        [
            out["support_tickets"],
            pd.DataFrame(
                {
                    "ticket_id": ["tx"],
                    "customer_id": [customers[0]],
                    "opened_date": [later.date()],
                    "is_complaint": [True],
                }
            ),
        ],
        ignore_index=True,
    )
    out["survey_responses"] = pd.concat(
        [
            out["survey_responses"],
            pd.DataFrame(
                {
                    "response_id": ["sx"],
                    "customer_id": [customers[0]],
                    "responded_date": [later.date()],
                    "score": [0],
                }
            ),
        ],
        ignore_index=True,
    )
    out["browsing_events"] = pd.concat(
        [
            out["browsing_events"],
            pd.DataFrame({"customer_id": customers, "event_date": later.date()}),
        ],
        ignore_index=True,
    )
    return out


def test_activity_after_as_of_never_changes_a_feature():
    frames = _rich_frames()
    before = build_features(frames, AS_OF)
    after = build_features(_after(frames, AS_OF), AS_OF)
    pd.testing.assert_frame_equal(before, after)


def test_a_delivery_after_as_of_counts_as_still_open():
    frames = _orders([("o1", "a", date(2025, 1, 1), 10.0)])
    frames["orders"]["promised_date"] = date(2025, 1, 5)
    frames["orders"]["delivered_date"] = date(2025, 2, 1)
    features = build_features(frames, AS_OF)
    assert features.loc["a", "open_late_days"] == 10
    assert features.loc["a", "late_days_max_365d"] == 10


@pytest.mark.parametrize("table", [t for t in COLUMNS if t != "orders"])
def test_each_feature_works_when_its_source_table_is_empty(table):
    frames = _rich_frames()
    frames[table] = frames[table].iloc[0:0] if table in frames else pd.DataFrame()
    features = build_features(frames, AS_OF)
    assert list(features.columns[: len(FEATURES)]) == FEATURES
    assert features[TRANSACTION_FEATURES[:2]].notna().all().all()


def test_a_plain_transaction_log_gets_recency_frequency_spend_and_cadence():
    frames = _orders(
        [
            ("o1", "a", date(2024, 10, 1), 10.0),
            ("o2", "a", date(2024, 10, 22), 20.0),
            ("o3", "a", date(2024, 11, 12), 30.0),
            ("o4", "b", date(2024, 12, 1), 5.0),
        ]
    )
    features = build_features(frames, AS_OF)
    a = features.loc["a"]
    assert a["recency_days"] == 64
    assert a["orders_365d"] == 3 and a["spend_365d"] == 60
    assert a["mean_gap_days"] == 21
    assert a["overdue_days"] == 43
    assert features.loc["b", "orders_total"] == 1
    assert np.isnan(features.loc["b", "mean_gap_days"])


def test_survey_change_is_newest_minus_the_one_before():
    frames = _orders([("o1", "a", date(2024, 10, 1), 10.0)])
    frames["survey_responses"] = pd.DataFrame(
        {
            "response_id": ["s1", "s2", "s3"],
            "customer_id": ["a", "a", "a"],
            "responded_date": [date(2024, 10, 5), date(2024, 11, 5), date(2024, 12, 5)],
            "score": [10, 9, 4],
        }
    )
    row = build_features(frames, AS_OF).loc["a"]
    assert (row["survey_last"], row["survey_change"], row["survey_count"]) == (4, -5, 3)


def test_late_deliveries_are_counted_with_how_late():
    frames = _orders(
        [
            ("o1", "a", date(2024, 12, 1), 10.0),
            ("o2", "a", date(2024, 12, 20), 10.0),
            ("o3", "a", date(2024, 6, 1), 10.0),
        ]
    )
    frames["orders"]["promised_date"] = [date(2024, 12, 4), date(2024, 12, 23), date(2024, 6, 4)]
    frames["orders"]["delivered_date"] = [date(2024, 12, 10), date(2024, 12, 25), date(2024, 6, 4)]
    row = build_features(frames, AS_OF).loc["a"]
    assert row["late_orders_90d"] == 2 and row["late_orders_365d"] == 2
    assert row["late_days_max_365d"] == 6 and row["late_days_mean_365d"] == 4


def test_a_consumable_past_its_replenishment_date_is_due():
    frames = _orders([("o1", "a", date(2024, 12, 1), 10.0)])
    frames["order_lines"] = pd.DataFrame(
        {"order_id": ["o1", "o1"], "sku": ["P", "B"], "quantity": 1, "backordered": [True, False]}
    )
    frames["products"] = pd.DataFrame(
        {
            "sku": ["P", "B"],
            "category": ["paint", "tools"],
            "is_consumable": [True, False],
            "replenishment_days": [30, None],
        }
    )
    row = build_features(frames, AS_OF).loc["a"]
    assert row["consumables_due"] == 1 and row["consumables_overdue_days"] == 15
    assert row["category_breadth_365d"] == 2 and row["backordered_lines_365d"] == 1


def test_cancelled_orders_are_not_purchases():
    frames = _orders([("o1", "a", date(2024, 12, 1), 10.0), ("o2", "a", date(2025, 1, 10), 10.0)])
    frames["orders"]["status"] = ["delivered", "cancelled"]
    assert build_features(frames, AS_OF).loc["a", "recency_days"] == 45


def test_load_frames_reads_nothing_dated_after_as_of(engine):
    with engine.begin() as conn:
        write_frame(
            conn,
            tables.Customer.__table__,
            pd.DataFrame(
                {
                    "customer_id": ["a"],
                    "consent_email": [True],
                    "consent_sms": [False],
                    "consent_post": [False],
                }
            ),
            update=False,
        )
        write_frame(
            conn,
            tables.Order.__table__,
            pd.DataFrame(
                {
                    "order_id": ["o1", "o2"],
                    "customer_id": ["a", "a"],
                    "ordered_date": [date(2024, 12, 1), date(2025, 2, 1)],
                    "amount": [10.0, 20.0],
                    "status": "delivered",
                    "discount_amount": 0.0,
                }
            ),
            update=False,
        )
    frames = load_frames(engine, AS_OF)
    assert list(frames["orders"]["order_id"]) == ["o1"]
    assert build_features(frames, AS_OF).loc["a", "spend_total"] == 10


def test_reading_only_a_year_of_details_changes_no_feature(engine):
    frames = _rich_frames()
    with engine.begin() as conn:
        customers = frames["customers"]
        write_frame(conn, tables.Customer.__table__, customers, update=False)
        write_frame(conn, tables.Order.__table__, frames["orders"], update=False)
        write_frame(conn, tables.SurveyResponse.__table__, frames["survey_responses"], update=False)
        write_frame(
            conn,
            tables.SupportTicket.__table__,
            frames["support_tickets"].assign(topic="other"),
            update=False,
        )
    full = build_features(load_frames(engine, AS_OF), AS_OF)
    recent = build_features(load_frames(engine, AS_OF, detail_days=DETAIL_DAYS), AS_OF)
    pd.testing.assert_frame_equal(full, recent)


def _read_through_sqlalchemy(conn, statement, **_):
    """The reader as it was: pandas over SQLAlchemy, every value converted by its column type."""
    return pd.read_sql(statement, conn)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as datetime64[s], every other column as plain Python objects with None for missing."""
    out = {}
    for name in frame.columns:
        values = frame[name]
        sample = values.dropna()
        if len(sample) and hasattr(sample.iloc[0], "isoformat"):
            values = pd.to_datetime(values).astype("datetime64[s]")
        else:
            values = values.astype(object).where(values.notna(), None)
        out[name] = values.reset_index(drop=True)
    return pd.DataFrame(out)


@contextmanager
def _beside_through_sqlalchemy(conn):
    yield lambda statement: reading.Staged(lambda: _read_through_sqlalchemy(conn, statement))


@pytest.mark.parametrize("detail_days", [None, DETAIL_DAYS])
def test_fast_reader_returns_the_same_frames_as_sqlalchemy(engine, monkeypatch, detail_days):
    as_of = date(2026, 6, 15)
    demo.write(engine, demo.generate(customers=60, seed=5, end_date=date(2026, 7, 31)))
    fast = load_frames(engine, as_of, detail_days=detail_days)
    monkeypatch.setattr(features, "reading_beside", _beside_through_sqlalchemy)
    before = load_frames(engine, as_of, detail_days=detail_days)
    assert set(fast) == set(before)
    for name, frame in before.items():
        assert list(fast[name].columns) == COLUMNS[name]
        pd.testing.assert_frame_equal(_comparable(fast[name]), _comparable(frame))
    assert len(fast["orders"]) and len(fast["order_lines"]) and len(fast["browsing_events"])
    pd.testing.assert_frame_equal(build_features(fast, as_of), build_features(before, as_of))


def test_fast_reader_types_dates_and_flags(engine):
    demo.write(engine, demo.generate(customers=20, seed=5, end_date=date(2026, 6, 15)))
    frames = load_frames(engine, date(2026, 6, 15))
    assert frames["orders"]["ordered_date"].dtype == "datetime64[s]"
    assert frames["orders"]["delivered_date"].dtype == "datetime64[s]"
    assert frames["customers"]["consent_email"].dtype == bool
    assert frames["order_lines"]["backordered"].dtype == bool


def test_fast_reader_on_empty_tables(engine):
    frames = load_frames(engine, AS_OF)
    assert all(len(frame) == 0 for frame in frames.values())
    assert list(frames["orders"].columns) == COLUMNS["orders"]
    assert build_features(frames, AS_OF).empty


def _with_details(orders, lines, returns):
    frames = _orders(orders)
    frames["order_lines"] = pd.DataFrame(
        lines, columns=["order_id", "sku", "quantity", "backordered"]
    )
    frames["products"] = pd.DataFrame(
        {
            "sku": ["PAINT"],
            "category": ["paint"],
            "is_consumable": [True],
            "replenishment_days": [30],
        }
    )
    frames["returns"] = pd.DataFrame(returns, columns=["return_id", "order_id", "returned_date"])
    return frames


def test_returns_all_after_as_of_count_as_none():
    frames = _with_details(
        [("o1", "a", date(2024, 12, 1), 10.0)],
        [("o1", "PAINT", 1, False)],
        [("r1", "o1", date(2025, 2, 1))],
    )
    row = build_features(frames, AS_OF).loc["a"]
    assert row["returns_365d"] == 0 and row["returns_rate_365d"] == 0
    assert row["category_breadth_365d"] == 1


def test_lines_and_returns_of_unknown_orders_are_ignored():
    frames = _with_details(
        [("o1", "a", date(2024, 12, 1), 10.0)],
        [("o1", "PAINT", 1, True), ("ghost", "PAINT", 1, True), ("o1", "UNKNOWN", 1, True)],
        [("r1", "ghost", date(2025, 1, 2))],
    )
    row = build_features(frames, AS_OF).loc["a"]
    assert row["backordered_lines_365d"] == 2
    assert row["returns_365d"] == 0
    assert row["consumables_due"] == 1 and row["consumables_overdue_days"] == 15


def test_a_repeated_order_id_joins_every_order_that_has_it():
    frames = _with_details(
        [("o1", "a", date(2024, 12, 1), 10.0), ("o1", "b", date(2024, 12, 2), 10.0)],
        [("o1", "PAINT", 1, True)],
        [("r1", "o1", date(2025, 1, 2)), ("r2", "o1", date(2025, 1, 3))],
    )
    features = build_features(frames, AS_OF)
    assert list(features["backordered_lines_365d"]) == [1, 1]
    assert list(features["returns_365d"]) == [1, 1]
