"""The simulated weeks: the world moves on its own, the same seed gives the same world, Easel
never sends an offer on an empty shelf while the rule-based programme can, and the metrics
agree with the database."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from core import simulation, simulation_orders, simulation_stock
from core.campaign_config import CampaignConfig
from core.simulation_rules import rule_offers
from core.tables import Order, OrderLine, StockLevel

CUSTOMERS, SEED = 300, 11


def _world_only(directory, weeks=3, seed=SEED):
    return simulation.simulate(
        directory, weeks=weeks, customers=CUSTOMERS, seed=seed, policies=["none"]
    )["none"]


def _frame(engine, statement) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def _run_lines(run) -> pd.DataFrame:
    o, line = Order.__table__, OrderLine.__table__
    statement = (
        select(o.c.order_id, o.c.ordered_date, line.c.sku, line.c.quantity, line.c.backordered)
        .select_from(o.join(line, line.c.order_id == o.c.order_id))
        .where(o.c.ordered_date >= run.world.week_start(0))
        .order_by(o.c.order_id, line.c.line_no)
    )
    return _frame(run.engine, statement)


def test_the_world_alone_places_orders_and_draws_stock_down(tmp_path):
    run = _world_only(tmp_path)
    lines = _run_lines(run)
    assert len(lines) > 0 and lines["order_id"].str.startswith("W").all()
    assert pd.to_datetime(lines["ordered_date"]).max() <= pd.Timestamp(run.world.week_start(3))
    # Stock at the end = stock at the start - units shipped + units received.
    with_stock = lines[~lines["backordered"].astype(bool)]
    shipped = with_stock.groupby("sku")["quantity"].sum()
    received = sum(week["units_received"] for week in run.weeks)
    start = pd.read_sql_table("stock_levels", f"sqlite:///{tmp_path / 'base.db'}")
    end = _frame(run.engine, select(StockLevel.sku, StockLevel.on_hand))
    assert shipped.sum() > 0
    assert end["on_hand"].sum() == start["on_hand"].sum() - shipped.sum() + received
    assert (end["on_hand"] >= 0).all()
    assert end.set_index("sku")["on_hand"].to_numpy().tolist() == run.world.on_hand.tolist()
    # Nobody comes back without an offer: the active customers only fall.
    active = [week["active_customers"] for week in run.weeks]
    assert active == sorted(active, reverse=True) and active[-1] < run.world.alive_at_start.sum()


def test_the_same_seed_gives_the_same_world_and_another_seed_another(tmp_path):
    first = _world_only(tmp_path / "a")
    again = _world_only(tmp_path / "b")
    other = _world_only(tmp_path / "c", seed=SEED + 1)
    assert first.weeks == again.weeks
    assert _run_lines(first).equals(_run_lines(again))
    assert np.array_equal(first.world.alive, again.world.alive)
    assert first.weeks != other.weeks


def test_the_none_policy_sends_nothing_and_its_metrics_match_the_database(tmp_path):
    run = _world_only(tmp_path)
    figures = simulation.metrics(run)
    lines = _run_lines(run)
    assert figures["offers_sent"] == 0 and figures["discount_spend"] == 0
    assert figures["orders"] == lines["order_id"].nunique()
    assert figures["net_revenue"] == figures["revenue"] > 0
    assert 0 < figures["churn_rate"] < 1 and 0 < figures["repeat_purchase_rate"] < 1


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_back_ordered_lines_are_cancelled_with_the_stated_share(tmp_path, monkeypatch, share):
    monkeypatch.setattr(simulation_orders, "BACKORDER_CANCEL_SHARE", share)
    run = _world_only(tmp_path, weeks=4)
    lines = _run_lines(run)
    backordered = sum(week["backordered_lines"] for week in run.weeks)
    assert backordered > 0
    written = int(lines["backordered"].astype(bool).sum())
    # Nobody cancels: every back-ordered line is written; everybody does: none is.
    assert written == (backordered if share == 0 else 0)
    o = Order.__table__
    orders = _frame(
        run.engine,
        select(o.c.order_id, o.c.status, o.c.amount).where(
            o.c.ordered_date >= run.world.week_start(0)
        ),
    )
    cancelled = orders[orders["status"] == "cancelled"]
    assert (len(cancelled) > 0) == (share == 1.0)
    assert (
        cancelled["amount"].sum() == 0 and not cancelled["order_id"].isin(lines["order_id"]).any()
    )
    figures = simulation.metrics(run)
    assert figures["orders"] == len(orders) - len(cancelled) == lines["order_id"].nunique()


def test_responses_for_one_sku_share_its_stock_and_the_rest_is_back_ordered():
    world = SimpleNamespace(
        on_hand=np.array([3, 0, 5]),
        sku_index=lambda skus: pd.Index(["A", "B", "C"]).get_indexer(skus),
    )
    responses = pd.DataFrame({"sku": ["A", "A", "B", "A", "C"], "quantity": [2, 2, 1, 1, 1]})
    no_lines = pd.DataFrame(
        {c: pd.Series(dtype="int64") for c in ("sku", "quantity", "substitute")}
    ).assign(swap=pd.Series(dtype=bool))
    _, _, short = simulation_stock.take_stock(world, no_lines, responses, np.zeros(0))
    assert short.tolist() == [False, True, True, True, False]
    assert world.on_hand.tolist() == [0, 0, 4]


def test_next_year_value_counts_the_active_customers_at_the_worlds_own_rates(tmp_path):
    run = _world_only(tmp_path)
    world = run.world
    everyone = simulation.next_year_value(run)
    assert everyone > 0
    end_day = world.start_day + 7 * len(run.weeks)
    alive = world.alive.copy()
    o = Order.__table__
    average = _frame(
        run.engine,
        select(o.c.customer_id, func.avg(o.c.amount + o.c.discount_amount).label("value"))
        .where(o.c.ordered_date < world.week_start(0), o.c.status != "cancelled")
        .group_by(o.c.customer_id),
    ).set_index("customer_id")["value"]
    rate = world.latent["rate"].to_numpy()
    # One active customer with a year or more to live: at most `rate` orders, at least one's
    # worth when they order at least once a year; nothing once their lifetime has ended.
    lasting = np.flatnonzero(alive & (world.lifetime_end >= end_day + 365) & (rate >= 1))[0]
    world.alive[:] = False
    world.alive[lasting] = True
    one = simulation.next_year_value(run)
    order_value = average[world.customer_ids.iloc[lasting]]
    assert order_value <= one <= rate[lasting] * order_value + 1e-6
    world.lifetime_end[lasting] = end_day
    assert simulation.next_year_value(run) == 0
    world.alive[:] = False
    assert simulation.next_year_value(run) == 0
    world.alive[:] = alive
    assert simulation.next_year_value(run) < everyone  # one customer's year is gone


def test_rules_take_candidates_by_a_fixed_priority_within_cap_and_budget_without_stock_checks():
    candidates = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c4"],
            "campaign_type": ["loyalty", "win_back", "cross_sell", "replenishment", "win_back"],
            "sku": ["EMPTY", "EMPTY", "FULL", "FULL", "FULL"],
            "discount_pct": [10.0, 20.0, 10.0, 5.0, 20.0],
            "credit_amount": [0.0] * 5,
            "why_customer": [""] * 5,
            "holdout": [False] * 5,
            "send_date": [None] * 5,
        }
    )
    consent = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4"],
            "consent_email": [True, False, True, True],
            "consent_sms": [False, False, False, False],
            "consent_post": [False, False, False, False],
        }
    )
    products = pd.DataFrame({"sku": ["EMPTY", "FULL"], "price": [100.0, 100.0]})
    # win_back's expected cost: 0.03 x 100 x 20% = 0.6 each; replenishment's 0.12 x 5 = 0.6.
    config = CampaignConfig(weekly_discount_budget=1.3)
    offers = rule_offers(candidates, customers=consent, products=products, config=config)
    # c1's win-back beats its loyalty offer (playbook order) although its SKU has no stock;
    # c2 has no consent; the budget stops before c4.
    assert offers[["customer_id", "campaign_type", "channel"]].values.tolist() == [
        ["c3", "replenishment", "email"],
        ["c1", "win_back", "email"],
    ]
    assert offers["expected_cost"].round(2).tolist() == [0.6, 0.6]


@pytest.fixture(scope="module")
def three_policies(tmp_path_factory):
    directory = tmp_path_factory.mktemp("simulate")
    return simulation.simulate(directory, weeks=2, customers=400, seed=5)


def _sent(run) -> pd.DataFrame:
    return pd.concat(run.sent, ignore_index=True)


@pytest.mark.slow
def test_easel_never_sends_an_offer_on_an_empty_shelf_while_rules_do(three_policies):
    rules, easel = _sent(three_policies["rules"]), _sent(three_policies["easel"])
    treated = ~easel["holdout"].astype(bool)
    assert treated.sum() > 0 and not easel.loc[treated, "out_of_stock"].any()
    assert rules.loc[~rules["holdout"].astype(bool), "out_of_stock"].sum() > 0
    assert simulation.metrics(three_policies["easel"])["out_of_stock_offers"] == 0


@pytest.mark.slow
def test_discount_spend_is_what_the_answered_offers_cost(three_policies):
    for policy in ("rules", "easel"):
        run = three_policies[policy]
        o = Order.__table__
        responses = _frame(
            run.engine,
            select(o.c.order_id, o.c.discount_amount).where(
                o.c.order_id.like("R%"), o.c.status != "cancelled"
            ),
        )
        sent = _sent(run)
        treated = sent[~sent["holdout"].astype(bool)]
        answered = treated[treated["responded"]]
        ids = "R" + answered["offer_id"].astype(str).str.zfill(9)
        expected = responses.loc[responses["order_id"].isin(ids), "discount_amount"].sum()
        expected += answered["credit_amount"].fillna(0).sum()
        figures = simulation.metrics(run)
        assert figures["discount_spend"] == pytest.approx(expected, abs=0.01)
        assert figures["offers_sent"] == len(treated) > 0
        with run.engine.connect() as conn:
            total = conn.execute(
                select(func.sum(o.c.amount + o.c.discount_amount)).where(
                    o.c.ordered_date >= run.world.week_start(0), o.c.status != "cancelled"
                )
            ).scalar_one()
        assert figures["revenue"] == pytest.approx(total, abs=0.01)
        assert figures["net_revenue"] == pytest.approx(total - expected, abs=0.01)


def test_the_command_rejects_an_unknown_policy():
    result = CliRunner().invoke(app, ["simulate", "--weeks", "1", "--policies", "none,magic"])
    assert result.exit_code != 0
    assert "magic" in result.output


def test_the_command_prints_the_table_and_writes_the_weekly_csv(tmp_path):
    out = tmp_path / "weeks.csv"
    result = CliRunner().invoke(
        app,
        ["simulate", "--weeks", "2", "--customers", "200", "--policies", "none", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "| none |" in result.output and "out-of-stock offers" in result.output
    weekly = pd.read_csv(out)
    assert weekly["week"].tolist() == [1, 2]
