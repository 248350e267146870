"""The append-only audit log with a hash chain that shows any edit, deletion or reordering."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint, text
from sqlmodel import Field, Session, SQLModel, col, select

from core.roles import Actor

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(index=True)
    role: str
    action: str = Field(index=True)
    entity_type: str = Field(index=True)
    entity_id: str | None = Field(default=None, index=True)
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = None
    # The unique predecessor makes a fork in the chain impossible, even under concurrency.
    prev_hash: str
    hash: str


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _digest(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(
        [
            prev_hash,
            event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            event.actor,
            event.role,
            event.action,
            event.entity_type,
            event.entity_id,
            event.before,
            event.after,
            event.reason,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    now: datetime,
) -> AuditEvent:
    """Append one event in the caller's transaction; it commits or rolls back with the change."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers of the chain; released at the end of the transaction.
        session.exec(text("SELECT pg_advisory_xact_lock(727001)"))  # type: ignore[call-overload]
    last = session.exec(
        select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)
    ).first()
    prev_hash = last or GENESIS
    event = AuditEvent(
        at=now.astimezone(UTC),
        actor=actor.username,
        role=str(actor.role),
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=_dump(before),
        after=_dump(after),
        reason=reason,
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = _digest(prev_hash, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events checked."
        return f"Audit chain broken at event {self.first_bad_id}: {self.problem}"


def verify(session: Session, *, batch_size: int = 5_000) -> ChainReport:
    """Walk the chain in order and name the first event that does not fit."""
    prev_hash = GENESIS
    checked = 0
    statement = (
        select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=batch_size)
    )
    result = session.exec(statement)
    try:
        for event in result:
            if event.prev_hash != prev_hash:
                return ChainReport(
                    False,
                    checked,
                    event.id,
                    "it does not follow the event before it (an event was deleted, inserted or moved)",
                )
            if _digest(prev_hash, event) != event.hash:
                return ChainReport(
                    False, checked, event.id, "its contents were changed after it was written"
                )
            prev_hash = event.hash
            checked += 1
    finally:
        result.close()
    return ChainReport(True, checked)


def search(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events matching the filters, newest first, one page at a time."""
    statement = select(AuditEvent)
    if actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if entity_type:
        statement = statement.where(AuditEvent.entity_type == entity_type)
    if since:
        statement = statement.where(col(AuditEvent.at) >= since)
    if until:
        statement = statement.where(col(AuditEvent.at) < until)
    statement = statement.order_by(col(AuditEvent.id).desc()).offset(offset).limit(limit)
    return list(session.exec(statement))
