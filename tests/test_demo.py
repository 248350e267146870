"""The demo marketplace: reproducible, consistent, seasonal, and with churn that has causes."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import bulk, demo
from core.demo_catalogue import CATEGORIES
from core.schema import metadata

END = date(2026, 6, 15)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return demo.generate(customers=5_000, seed=11, end_date=END)


def test_same_seed_gives_identical_frames():
    first = demo.generate(customers=400, seed=5, end_date=END)
    second = demo.generate(customers=400, seed=5, end_date=END)
    for name in demo.TABLES:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_different_seed_gives_different_orders():
    first = demo.generate(customers=400, seed=5, end_date=END)["orders"]
    second = demo.generate(customers=400, seed=6, end_date=END)["orders"]
    assert len(first) != len(second) or not first.equals(second)


def test_latent_traits_are_rebuilt_from_the_seed():
    first = demo.latent_traits(customers=300, seed=5, end_date=END)
    second = demo.latent_traits(customers=300, seed=5, end_date=END)
    pd.testing.assert_frame_equal(first, second)
    assert len(first) == 300 and {"rate", "churn_propensity", "offer_sensitivity"} <= set(first)


def test_every_table_has_exactly_its_columns(frames):
    assert set(frames) == set(demo.TABLES)
    for name, frame in frames.items():
        assert list(frame.columns) == list(metadata.tables[name].columns.keys()), name


def test_primary_keys_are_unique(frames):
    for name, frame in frames.items():
        keys = [c.name for c in metadata.tables[name].primary_key.columns]
        assert not frame.duplicated(keys).any(), name


def test_every_foreign_key_points_at_a_row(frames):
    for name, frame in frames.items():
        for fk in metadata.tables[name].foreign_keys:
            parent = frames[fk.column.table.name][fk.column.name]
            values = frame[fk.parent.name].dropna()
            missing = ~values.isin(parent)
            assert not missing.any(), f"{name}.{fk.parent.name}: {values[missing].head().tolist()}"


def test_order_amount_is_lines_less_discounts(frames):
    lines = frames["order_lines"]
    gross = (lines["quantity"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
    off = lines.groupby("order_id")["discount_amount"].sum()
    orders = frames["orders"].set_index("order_id")
    assert np.allclose(orders["amount"], (gross - off).reindex(orders.index), atol=0.011)
    assert np.allclose(orders["discount_amount"], off.reindex(orders.index), atol=0.011)
    discounted = (orders["discount_amount"] > 0).mean()
    assert 0.03 < discounted < 0.3


def test_dates_follow_the_order(frames):
    orders = frames["orders"]
    assert (orders["promised_date"] > orders["ordered_date"]).all()
    delivered = orders["delivered_date"].notna()
    assert (orders.loc[delivered, "delivered_date"] >= orders.loc[delivered, "ordered_date"]).all()
    assert (orders.loc[delivered, "status"] == "delivered").all()
    assert orders["ordered_date"].max() <= pd.Timestamp(END)
    assert orders["ordered_date"].min() >= pd.Timestamp(END) - pd.Timedelta(days=730)
    first = orders.groupby("customer_id")["ordered_date"].min()
    signup = frames["customers"].set_index("customer_id")["signup_date"]
    assert (signup.reindex(first.index) <= first).all()
    for name, column in [("returns", "returned_date"), ("survey_responses", "responded_date")]:
        assert frames[name][column].max() <= pd.Timestamp(END)


def test_statuses_are_mostly_delivered_with_recent_ones_open(frames):
    orders = frames["orders"]
    share = orders["status"].value_counts(normalize=True)
    assert share["delivered"] > 0.9 and 0 < share["cancelled"] < 0.06
    open_orders = orders[orders["status"].isin(["placed", "shipped"])]
    assert len(open_orders) > 0
    assert open_orders["ordered_date"].min() > pd.Timestamp(END) - pd.Timedelta(days=60)
    assert orders.loc[orders["status"] == "cancelled", "delivered_date"].isna().all()


def test_each_customers_orders_are_numbered_in_time_order(frames):
    orders = frames["orders"]
    assert orders["order_id"].is_monotonic_increasing
    assert orders["ordered_date"].is_monotonic_increasing


def test_orders_peak_in_the_holidays(frames):
    month = frames["orders"]["ordered_date"].dt.month
    assert month.isin([11, 12]).sum() > 1.4 * month.isin([2, 3]).sum()


def test_catalogue_has_lines_suppliers_in_trouble_and_consumables(frames):
    products, suppliers = frames["products"], frames["suppliers"]
    assert 200 <= len(products) <= 2000 and 20 <= len(suppliers) <= 60
    assert set(products["category"]) == set(CATEGORIES)
    assert products.groupby("line").size().min() >= 1 and products["line"].nunique() > 25
    assert {"delayed", "disrupted"} <= set(suppliers["status"])
    consumable = products["is_consumable"]
    assert products.loc[consumable, "replenishment_days"].notna().all()
    assert products.loc[~consumable, "replenishment_days"].isna().all()


def test_consumables_are_bought_again_near_their_cycle(frames):
    lines = frames["order_lines"].merge(
        frames["orders"][["order_id", "customer_id", "ordered_date"]]
    )
    products = frames["products"].set_index("sku")
    lines = lines[lines["sku"].map(products["is_consumable"])].sort_values("ordered_date")
    gap = lines.groupby(["customer_id", "sku"])["ordered_date"].diff().dt.days.dropna()
    cycle = lines.loc[gap.index, "sku"].map(products["replenishment_days"]).astype(float)
    ratio = (gap / cycle).median()
    assert len(gap) > 1000 and 0.5 < ratio < 2.0


def test_stock_levels_and_inbound_orders(frames):
    stock, inbound = frames["stock_levels"], frames["inbound_orders"]
    assert (stock["updated_at"] == datetime(2026, 6, 15, tzinfo=UTC)).all()
    assert (stock["on_hand"] == 0).any() and (stock["on_hand"] > 0).mean() > 0.8
    assert (inbound["expected_date"] > pd.Timestamp(END)).any()
    assert (inbound["expected_date"] >= inbound["ordered_date"]).all()
    received = inbound["received_date"].notna()
    assert (inbound.loc[received, "received_date"] <= pd.Timestamp(END)).all()
    assert (inbound.loc[~received, "ordered_date"] <= pd.Timestamp(END)).all()
    assert frames["order_lines"]["backordered"].mean() > 0.005


def test_a_minority_opted_out_of_a_channel(frames):
    people = frames["customers"]
    for channel in ("consent_email", "consent_post"):
        assert 0.04 < (~people[channel]).mean() < 0.16


def _late(orders: pd.DataFrame) -> pd.Series:
    return orders["delivered_date"] > orders["promised_date"]


def test_late_deliveries_score_lower_in_surveys(frames):
    orders = frames["orders"].assign(late=_late)
    answers = frames["survey_responses"].merge(orders[["order_id", "late"]], on="order_id")
    late, on_time = answers.loc[answers["late"], "score"], answers.loc[~answers["late"], "score"]
    diff = on_time.mean() - late.mean()
    se = np.sqrt(late.var() / len(late) + on_time.var() / len(on_time))
    assert diff > 1.0 and diff / se > 8  # far beyond chance


def test_a_late_first_order_makes_a_second_less_likely(frames):
    orders = frames["orders"].assign(late=_late)
    orders = orders[orders["status"] != "cancelled"]
    first = orders.groupby("customer_id").first()
    first = first[first["ordered_date"] < pd.Timestamp(END) - pd.Timedelta(days=240)]
    again = orders.groupby("customer_id").size().reindex(first.index) > 1
    late, on_time = again[first["late"]], again[~first["late"]]
    p = again.mean()
    z = (on_time.mean() - late.mean()) / np.sqrt(p * (1 - p) * (1 / len(late) + 1 / len(on_time)))
    assert len(late) > 100 and z > 4


def test_complaints_and_returns_exist(frames):
    tickets = frames["support_tickets"]
    assert tickets["is_complaint"].any() and (tickets["topic"] == "late_delivery").any()
    assert tickets["order_id"].notna().mean() > 0.8
    assert 0.01 < len(frames["returns"]) / len(frames["orders"]) < 0.1


def test_write_loads_every_table(engine):
    frames = demo.generate(customers=300, seed=2, end_date=END)
    seen: dict[str, int] = {}
    written = demo.write(
        engine, frames, lambda t, n, total: seen.__setitem__(t, seen.get(t, 0) + n)
    )
    assert written == {name: len(frames[name]) for name in written} and seen == written
    assert set(written) == set(demo.TABLES)
    with engine.connect() as conn:
        for name in demo.TABLES:
            count = conn.execute(
                select(func.count()).select_from(metadata.tables[name])
            ).scalar_one()
            assert count == len(frames[name]), name
    assert demo.has_customers(engine)


def test_write_rebuilds_the_indexes_it_drops_for_large_tables(engine, monkeypatch):
    monkeypatch.setattr(demo, "REBUILD_INDEXES_ABOVE", 0)
    demo.write(engine, demo.generate(customers=100, seed=3, end_date=END))
    names = {index["name"] for index in inspect(engine).get_indexes("order_lines")}
    assert {index.name for index in metadata.tables["order_lines"].indexes} <= names


def test_a_large_write_gathers_the_planners_statistics_on_postgresql(engine, monkeypatch):
    if engine.dialect.name != "postgresql":
        pytest.skip("statistics for PostgreSQL's planner")
    monkeypatch.setattr(bulk, "ANALYZE_ROWS", 3)
    frames = demo.generate(customers=100, seed=5, end_date=END)
    # A value of this write's own: statistics gathered now, not left from an earlier test.
    frames["customers"]["region"] = "Planned region"
    demo.write(engine, frames)
    with engine.connect() as conn:
        seen = conn.exec_driver_sql(
            "SELECT tablename, coalesce(most_common_vals::text, '') FROM pg_stats "
            "WHERE schemaname = current_schema() AND attname IN ('region', 'customer_id') "
            "AND tablename IN ('customers', 'orders')"
        ).all()
    assert [table for table, values in seen if "Planned region" in values] == ["customers"]
    assert "orders" in {table for table, _ in seen}


def test_clear_keeps_audit_and_users(engine, session, now):
    demo.write(engine, demo.generate(customers=200, seed=2, end_date=END), now=now)
    demo.create_demo_users(session, now=now)
    session.commit()
    deleted = demo.clear_marketplace(engine, now=now)
    assert deleted["customers"] == 200 and not demo.has_customers(engine)
    assert demo.create_demo_users(session, now=now) == {}
    with engine.connect() as conn:
        actions = (
            conn.exec_driver_sql("SELECT action FROM audit_events ORDER BY id").scalars().all()
        )
    assert actions[0] == "demo.load" and actions[-1] == "demo.clear"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield tmp_path / "data"
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_demo_command_builds_the_marketplace_and_logins(cli_env):
    runner = CliRunner()
    args = ["demo", "--customers", "300", "--seed", "1", "--end-date", "2026-06-15"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    logins = cli_env / "demo-logins.txt"
    assert stat.S_IMODE(os.stat(logins).st_mode) == 0o600
    names = [line.split("\t")[0] for line in logins.read_text().splitlines()[1:]]
    assert names == ["planner", "support", "manager", "admin"]
    assert all(name in result.output for name in names)
    assert "Console summaries refreshed (orders through 2026-06-" in result.output

    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "--replace" in again.output

    replaced = runner.invoke(app, [*args, "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "already exist" in replaced.output
    assert logins.read_text().count("\n") == 5
