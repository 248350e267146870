from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from core import audit
from core.roles import Actor, Role


def tamper(engine, sql: str) -> None:
    """Change the table behind the application's back, as the database's owner could: on
    PostgreSQL the owner first switches off the append-only trigger."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        conn.execute(text(sql))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def _write_events(engine, now, count=5):
    actor = Actor("pat", Role.PLANNER)
    with Session(engine) as session:
        for i in range(count):
            audit.record(
                session,
                actor=actor,
                action="campaign.approve",
                entity_type="campaign",
                entity_id=i,
                before={"status": "proposed"},
                after={"status": "approved"},
                reason=f"looks right {i}",
                now=now + timedelta(minutes=i),
            )
        session.commit()


def test_intact_chain_verifies(engine, now):
    _write_events(engine, now)
    with Session(engine) as session:
        report = audit.verify(session)
    assert report.ok and report.checked == 5


def test_edited_event_is_named(engine, now):
    _write_events(engine, now)
    tamper(engine, "UPDATE audit_events SET reason = 'nothing to see' WHERE id = 3")
    with Session(engine) as session:
        report = audit.verify(session)
    assert not report.ok
    assert report.first_bad_id == 3
    assert "changed" in report.describe()


def test_deleted_event_is_detected(engine, now):
    _write_events(engine, now)
    tamper(engine, "DELETE FROM audit_events WHERE id = 2")
    with Session(engine) as session:
        report = audit.verify(session)
    assert not report.ok and report.first_bad_id == 3


def test_reordered_events_are_detected(engine, now):
    _write_events(engine, now)
    tamper(engine, "UPDATE audit_events SET id = 100 WHERE id = 2")
    with Session(engine) as session:
        report = audit.verify(session)
    assert not report.ok and report.first_bad_id == 3


def test_event_rolls_back_with_its_transaction(engine, now):
    with Session(engine) as session:
        audit.record(
            session, actor=Actor("pat", Role.PLANNER), action="x", entity_type="y", now=now
        )
        session.rollback()
    with Session(engine) as session:
        assert audit.search(session) == []


def test_search_filters_and_pages(engine, now):
    _write_events(engine, now, count=7)
    with Session(engine) as session:
        first = audit.search(session, actor="pat", limit=3)
        second = audit.search(session, actor="pat", limit=3, offset=3)
        none = audit.search(session, actor="nobody")
    assert [e.id for e in first] == [7, 6, 5]
    assert [e.id for e in second] == [4, 3, 2]
    assert none == []
