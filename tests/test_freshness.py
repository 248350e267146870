"""Freshness: approvals are blocked, with a clear message, while the stock feed is too old."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import freshness
from core.config import Settings
from core.errors import InvalidInput
from tests import loop_factories as f

LIMIT = timedelta(hours=48)


def test_a_recent_stock_feed_allows_approvals(engine, session, now):
    f.catalogue(engine, updated_at=now - timedelta(hours=3))
    state = freshness.check(session, now=now, max_age=LIMIT)
    assert state.fresh and state.message == ""
    freshness.require_fresh(session, now=now, max_age=LIMIT)


def test_an_old_stock_feed_blocks_approvals_and_says_since_when(engine, session, now):
    f.catalogue(engine, updated_at=now - timedelta(days=5))
    state = freshness.check(session, now=now, max_age=LIMIT)
    assert not state.fresh and state.age == timedelta(days=5)
    with pytest.raises(InvalidInput, match=r"last updated 2026-06-10 09:30 UTC, 5\.0 days ago"):
        freshness.require_fresh(session, now=now, max_age=LIMIT)


def test_no_stock_at_all_blocks_approvals(session, now):
    with pytest.raises(InvalidInput, match="no stock levels yet"):
        freshness.require_fresh(session, now=now, max_age=LIMIT)


def test_the_limit_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("EASEL_STOCK_FEED_MAX_AGE_HOURS", "12")
    assert freshness.max_age(Settings()) == timedelta(hours=12)
