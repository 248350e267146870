"""Reading the audit trail: filters, pages, before/after, CSV export, the override scorecard."""

import csv
import io
from datetime import timedelta

from sqlmodel import Session

from core import audit, audit_views
from tests import console_factories as make


def _events(session, now, planner, manager):
    audit.record(
        session,
        actor=planner,
        action="pause.create",
        entity_type="pause",
        entity_id=1,
        after={"reason": "late", "scope": "sku"},
        now=now,
    )
    audit.record(
        session,
        actor=manager,
        action="pause.lift",
        entity_type="pause",
        entity_id=1,
        before={"reason": "late", "lifted_at": None},
        after={"reason": "late", "lifted_at": "2026-06-16"},
        reason="back",
        now=now + timedelta(days=1),
    )
    audit.record(
        session,
        actor=manager,
        action="campaign.approve",
        entity_type="campaign",
        entity_id=7,
        now=now + timedelta(days=2),
    )
    session.commit()


def test_filters_and_paging(session, now, planner, manager):
    _events(session, now, planner, manager)
    everything = audit_views.search(session, filters=audit_views.AuditFilter(), page_size=2)
    assert everything.total == 3 and everything.pages == 2 and len(everything.rows) == 2
    assert everything.rows["action"].tolist() == ["campaign.approve", "pause.lift"]
    by_role = audit_views.search(
        session, filters=audit_views.AuditFilter(role="manager", entity_type="pause")
    )
    assert by_role.rows["action"].tolist() == ["pause.lift"]
    in_range = audit_views.search(
        session, filters=audit_views.AuditFilter(since=now, until=now + timedelta(days=1))
    )
    assert in_range.rows["action"].tolist() == ["pause.create"]
    assert audit_views.choices(session)["actor"] == ["meg", "pat"]


def test_before_and_after_show_changed_keys(session, now, planner, manager):
    _events(session, now, planner, manager)
    event_id = int(
        audit_views.search(session, filters=audit_views.AuditFilter(action="pause.lift"))
        .rows["id"]
        .iloc[0]
    )
    found = audit_views.diff(session, event_id=event_id)
    assert found.before["lifted_at"] is None
    assert found.changes.to_dict("records") == [
        {"key": "lifted_at", "before": None, "after": "2026-06-16"}
    ]
    assert audit_views.diff(session, event_id=999) is None


def test_csv_export_of_the_filtered_range_in_chunks(session, now, planner, manager):
    _events(session, now, planner, manager)
    chunks = list(
        audit_views.export_csv(session, filters=audit_views.AuditFilter(actor="meg"), chunk_rows=1)
    )
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(chunks) >= 2
    assert [r["action"] for r in rows] == ["pause.lift", "campaign.approve"]
    assert rows[0]["reason"] == "back"


def test_scorecard_counts_changes_by_person_and_waits_for_outcomes(engine):
    make.customers(engine, "a", "b", "c")
    make.campaign(engine, 1)
    make.offers(
        engine,
        1,
        [
            ("a", False, None, None, "pat", "prefers brushes"),
            ("b", False, None, None, None, None),
            ("c", True, None, None, None, None),
        ],
    )
    with Session(engine) as session:
        card = audit_views.override_scorecard(session)
    assert (card.proposals, card.changed) == (2, 1)
    assert card.changed_share == 0.5
    assert card.by_person.to_dict("records") == [
        {
            "reviewed_by": "pat",
            "review_reason": "prefers brushes",
            "campaign_type": "win_back",
            "offers": 1,
        }
    ]
    assert card.outcomes is None


def test_scorecard_compares_changed_with_unchanged_once_measured(engine):
    ids = [f"c{i}" for i in range(8)]
    make.customers(engine, *ids)
    make.campaign(engine, 1)
    make.offers(
        engine,
        1,
        [
            (
                c,
                False,
                i % 2 == 0,
                10.0 if i % 2 == 0 else 0.0,
                "pat" if i < 4 else None,
                "why" if i < 4 else None,
            )
            for i, c in enumerate(ids)
        ],
    )
    with Session(engine) as session:
        card = audit_views.override_scorecard(session, min_per_group=2)
    row = card.outcomes.iloc[0]
    assert row["campaign"] == "win_back 2026-W22"
    assert (row["treated"], row["holdout_customers"]) == (4, 4)
    assert row["conversion_uplift"] == 0.0
