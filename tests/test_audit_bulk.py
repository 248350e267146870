"""The chain hash is pinned (a trail written earlier still verifies) and reachable for bulk writers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pandas as pd
from sqlmodel import Session

from core import audit
from core.bulk import write_frame

# Hashes written by earlier releases for these two events: they must never change.
FIRST = "181f78d237b1c14412aa16d2a688367aed8ac6b9d0e6ef8acb21c95c39b21123"
SECOND = "3c7da2d8048d3e71d598c80ac4b76c67b124f70da96fea3284b767bf34d97d74"


def _events():
    first = SimpleNamespace(
        at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1))),
        actor="pat",
        role="planner",
        action="campaign.approve",
        entity_type="campaign",
        entity_id="7",
        before='{"status":"proposed"}',
        after='{"status":"approved"}',
        reason="stock is fine — ok",
    )
    second = SimpleNamespace(**{**vars(first), "entity_id": None, "before": None, "reason": None})
    return first, second


def test_digest_is_the_one_earlier_trails_were_written_with():
    first, second = _events()
    assert audit.digest(audit.GENESIS, first) == FIRST
    assert audit.digest(FIRST, second) == SECOND


def _write(engine, rows):
    with engine.begin() as conn:
        write_frame(conn, audit.AuditEvent.__table__, pd.DataFrame(rows), update=False)


def test_a_trail_written_earlier_verifies_and_a_changed_one_does_not(engine):
    first, second = _events()
    rows = [
        {**vars(first), "prev_hash": audit.GENESIS, "hash": FIRST},
        {**vars(second), "prev_hash": FIRST, "hash": SECOND},
    ]
    _write(engine, rows)
    with Session(engine) as session:
        assert audit.verify(session) == audit.ChainReport(True, 2)
        assert audit.verify(session, batch_size=1) == audit.ChainReport(True, 2)


def test_verify_names_the_changed_event_in_a_bulk_written_trail(engine):
    first, second = _events()
    changed = {**vars(second), "reason": "edited later", "prev_hash": FIRST, "hash": SECOND}
    _write(engine, [{**vars(first), "prev_hash": audit.GENESIS, "hash": FIRST}, changed])
    with Session(engine) as session:
        report = audit.verify(session)
    assert not report.ok and report.checked == 1 and "changed" in report.problem
