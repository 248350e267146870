"""Audit events are append-only: the application cannot change or delete one, PostgreSQL refuses
it too, and an exported head tells whether a later trail still holds it unchanged."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import audit, schema
from core.audit import AuditEvent, AuditImmutable, Head, InvalidHead
from core.db import make_engine
from core.roles import Actor, Role
from tests.test_audit import _write_events, tamper


def _reasons(engine) -> list[str | None]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.reason).order_by(AuditEvent.id)))


def test_the_orm_refuses_to_update_an_event(engine, now):
    _write_events(engine, now, count=2)
    with Session(engine) as session:
        event = session.get(AuditEvent, 1)
        event.reason = "nothing to see"
        session.add(event)
        with pytest.raises(AuditImmutable, match="append-only"):
            session.commit()
    assert _reasons(engine) == ["looks right 0", "looks right 1"]


def test_the_orm_refuses_to_delete_an_event(engine, now):
    _write_events(engine, now, count=2)
    with Session(engine) as session:
        session.delete(session.get(AuditEvent, 2))
        with pytest.raises(AuditImmutable):
            session.commit()
    assert len(_reasons(engine)) == 2


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).where(AuditEvent.id == 1).values(reason="x"),
        delete(AuditEvent).where(AuditEvent.id == 1),
    ],
    ids=["update", "delete"],
)
def test_a_bulk_statement_through_a_session_is_refused(engine, now, statement):
    _write_events(engine, now, count=2)
    with Session(engine) as session, pytest.raises(AuditImmutable):
        session.execute(statement)
    assert _reasons(engine) == ["looks right 0", "looks right 1"]


CHANGES = (
    "update(AuditEvent",
    "delete(AuditEvent",
    "UPDATE audit_events",
    "DELETE FROM audit_events",
)


def test_no_application_code_writes_update_or_delete_on_the_audit_table():
    """Beside the hooks: no module outside core/audit.py names the audit table in a change."""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("core", "cli", "jobs", "pages", "ui"):
        for path in (root / folder).rglob("*.py"):
            source = path.read_text()
            for phrase in CHANGES:
                if phrase in source:
                    offenders.append(f"{path.relative_to(root)}: {phrase}")
    assert offenders == []


def test_postgresql_trigger_refuses_update_and_delete(engine, now):
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    _write_events(engine, now, count=2)
    for sql in (
        "UPDATE audit_events SET reason = 'x' WHERE id = 1",
        "DELETE FROM audit_events WHERE id = 2",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert _reasons(engine) == ["looks right 0", "looks right 1"]
    with Session(engine) as session:
        assert audit.verify(session).ok


def test_the_migration_installs_the_trigger(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    name = f"easel_trigger_{uuid.uuid4().hex[:8]}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    fresh = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    try:
        schema.upgrade(fresh)
        with fresh.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_events (at, actor, role, action, entity_type, prev_hash, hash)"
                    " VALUES (now(), 'pat', 'planner', 'x', 'y', 'p', 'h')"
                )
            )
        with pytest.raises(DBAPIError, match="append-only"), fresh.begin() as conn:
            conn.execute(text("DELETE FROM audit_events"))
    finally:
        fresh.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_intact_trail_holds_its_exported_head(session, engine, now):
    _write_events(engine, now, count=3)
    exported = Head.from_json(audit.head(session).to_json())
    assert exported.event_id == 3 and len(exported.hash) == 64
    audit.record(session, actor=Actor("pat", Role.PLANNER), action="x", entity_type="y", now=now)
    session.commit()
    report = audit.verify_against(session, exported)
    assert report.ok, report.message
    assert "event 3" in report.message and "1 event(s) were added" in report.message


def test_an_empty_trail_has_the_genesis_head(session):
    assert audit.head(session) == Head(None, audit.GENESIS, None)
    assert audit.verify_against(session, audit.head(session)).ok


def test_a_trail_rebuilt_from_scratch_no_longer_holds_the_head(session, engine, now):
    """The chain of a rewritten trail verifies on its own; only the exported head tells."""
    _write_events(engine, now, count=3)
    exported = audit.head(session)
    session.close()
    tamper(engine, "DELETE FROM audit_events")
    # The owner writes a new, consistent history whose second event says something else.
    with Session(engine) as fresh:
        for i, reason in enumerate(["looks right 0", "edited", "looks right 2"]):
            audit.record(
                fresh,
                actor=Actor("pat", Role.PLANNER),
                action="campaign.approve",
                entity_type="campaign",
                entity_id=i,
                before={"status": "proposed"},
                after={"status": "approved"},
                reason=reason,
                now=now + timedelta(minutes=i),
            )
        fresh.commit()
        assert audit.verify(fresh).ok
        report = audit.verify_against(fresh, exported)
    assert not report.ok
    assert "no longer in the trail" in report.message or "rewritten" in report.message


def test_a_changed_event_below_the_head_is_named(session, engine, now):
    _write_events(engine, now, count=3)
    exported = audit.head(session)
    session.close()
    tamper(engine, "UPDATE audit_events SET reason = 'nothing to see' WHERE id = 2")
    with Session(engine) as later:
        report = audit.verify_against(later, exported)
    assert not report.ok and "event 2" in report.message


def test_a_removed_head_is_named(session, engine, now):
    _write_events(engine, now, count=3)
    exported = audit.head(session)
    session.close()
    tamper(engine, "DELETE FROM audit_events WHERE id = 3")
    with Session(engine) as later:
        report = audit.verify_against(later, exported)
    assert not report.ok and "event 3, is no longer in the trail" in report.message


@pytest.mark.parametrize("raw", ["", "{}", '{"event_id": "x", "hash": "abc"}', "[1]"])
def test_a_file_that_is_not_a_head_is_refused(raw):
    with pytest.raises(InvalidHead):
        Head.from_json(raw)


def test_cli_exports_the_head_and_checks_a_later_copy(engine, now, tmp_path, monkeypatch):
    monkeypatch.setattr(context, "engine", lambda: engine)
    _write_events(engine, now, count=2)
    runner = CliRunner()
    exported = runner.invoke(app, ["audit", "head"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["event_id"] == 2
    path = tmp_path / "head.json"
    path.write_text(exported.output)
    checked = runner.invoke(app, ["audit", "verify", "--against", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "still holds the exported head, event 2" in checked.output
    tamper(engine, "DELETE FROM audit_events WHERE id = 2")
    broken = runner.invoke(app, ["audit", "verify", "--against", str(path)])
    assert broken.exit_code == 2 and "no longer in the trail" in broken.output
    path.write_text("not json")
    bad = runner.invoke(app, ["audit", "verify", "--against", str(path)])
    assert bad.exit_code == 1 and "Not an exported audit head" in bad.output
