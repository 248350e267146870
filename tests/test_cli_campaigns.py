import csv

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import users
from core.roles import SYSTEM
from tests.proposal_factories import add_catalogue, add_customers, add_order
from tests.test_proposals import AS_OF, _ago


@pytest.fixture
def cli_shop(tmp_path, monkeypatch, now):
    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    context.settings.cache_clear()
    context.engine.cache_clear()
    with Session(context.engine()) as session:
        add_catalogue(session)
        add_customers(session, ids=("c1", "c2"))
        add_order(session, "o1", "c1", _ago(200), [("A1", 1, 40.0)])
        add_order(session, "o2", "c1", _ago(120), [("A1", 1, 40.0)])
        add_order(session, "o3", "c2", _ago(20), [("C1", 1, 15.0)])
        users.add_user(
            session, actor=SYSTEM, username="sam", role="support", password="x" * 10, now=now
        )
        session.commit()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_pause_list_and_unpause(cli_shop):
    result = cli_shop.invoke(
        app,
        ["pause", "sku", "A1", "--reason", "late supplier", "--until", "2099-01-31", "--as", "sam"],
    )
    assert result.exit_code == 0, result.output
    assert "Pause 1: paused sku A1 until 2099-02-01: late supplier" in result.output
    listed = cli_shop.invoke(app, ["pauses"])
    assert "paused sku A1" in listed.output and "by sam" in listed.output
    lifted = cli_shop.invoke(app, ["unpause", "1", "--reason", "arrived", "--as", "sam"])
    assert lifted.exit_code == 0 and "Lifted pause 1" in lifted.output
    assert "No active pauses" in cli_shop.invoke(app, ["pauses"]).output


def test_pause_of_unknown_sku_fails_with_a_message(cli_shop):
    result = cli_shop.invoke(app, ["pause", "sku", "NOPE", "--reason", "x", "--as", "sam"])
    assert result.exit_code == 1 and "no sku 'NOPE'" in result.output


def test_bad_until_date_fails_with_a_message(cli_shop):
    result = cli_shop.invoke(
        app, ["pause", "all", "--reason", "x", "--until", "soon", "--as", "sam"]
    )
    assert result.exit_code == 1 and "--until must be a date" in result.output


def test_propose_then_export_offers(cli_shop, tmp_path):
    result = cli_shop.invoke(app, ["propose", "--week", "2026-W25", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Proposals for 2026-W25" in result.output and "win_back" in result.output
    path = tmp_path / "offers.csv"
    exported = cli_shop.invoke(app, ["export", "offers", str(path)])
    assert exported.exit_code == 0, exported.output
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "campaign",
        "customer_id",
        "sku",
        "discount_pct",
        "channel",
        "status",
        "holdout",
        "reason",
    ]
    win_back = next(r for r in rows if r["customer_id"] == "c1")
    assert win_back["campaign"] == "win_back 2026-W25" and win_back["sku"] == "A1"


def test_propose_with_a_bad_week_fails_with_a_message(cli_shop):
    result = cli_shop.invoke(app, ["propose", "--week", "next"])
    assert result.exit_code == 1 and "2026-W25" in result.output
