"""The append-only audit log with a hash chain that shows any edit, deletion or reordering.

The application never changes or removes an event: the ORM refuses it (`AuditImmutable`), and on
PostgreSQL a trigger refuses UPDATE and DELETE on the table (migration 0300). Someone who owns the
database can still get round both; the chain then shows it, and an exported head (`head`,
`verify_against`) shows even a chain rebuilt from scratch. Tamper-evident, not tamper-proof.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DDL, Column, Text, UniqueConstraint, event, func, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel, col, select

from core.errors import EaselError
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


class AuditImmutable(EaselError):
    """Something tried to change or remove an audit event."""


def _refuse(*_args: Any) -> None:
    raise AuditImmutable("Audit events are append-only: they cannot be changed or deleted.")


event.listen(AuditEvent, "before_update", _refuse)
event.listen(AuditEvent, "before_delete", _refuse)


@event.listens_for(OrmSession, "do_orm_execute")
def _refuse_bulk_changes(state: Any) -> None:
    """A bulk UPDATE or DELETE of the model through a session skips those hooks; refuse it here."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is AuditEvent:
        _refuse()


# The same trigger as migration 0300, for databases built from the models (the tests' ones).
TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION easel_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit events are append-only: ' || TG_OP || ' refused on audit_events',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION easel_audit_append_only()"
)
for _ddl in (TRIGGER_FUNCTION, TRIGGER):
    event.listen(AuditEvent.__table__, "after_create", DDL(_ddl).execute_if(dialect="postgresql"))


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


# The fields of an event that its hash covers, in the order they are hashed after prev_hash.
HASHED = ("at", "actor", "role", "action", "entity_type", "entity_id", "before", "after", "reason")


# What json.dumps(..., separators=(",", ":")) uses, made once instead of once per event.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def digest(prev_hash: str, event: Any) -> str:
    """The chain hash of `event` (anything with the HASHED attributes) after `prev_hash`.

    This is what `record` stores as the event's hash; an import or a benchmark that writes
    events in bulk uses it to chain them exactly as `record` would.
    """
    return _hash(prev_hash, *(getattr(event, name) for name in HASHED))


def _hash(prev_hash: str, at: datetime, *fields: str | None) -> str:
    payload = _COMPACT.encode(
        [prev_hash, at.astimezone(UTC).isoformat(timespec="microseconds"), *fields]
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
    event.hash = digest(prev_hash, event)
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
    """Walk the chain in order and name the first event that does not fit.

    Reads plain rows of the hashed columns (no ORM objects), a batch at a time.
    """
    table = AuditEvent.__table__
    columns = [table.c.id, table.c.prev_hash, table.c.hash, *(table.c[n] for n in HASHED)]
    prev_hash = GENESIS
    checked = 0
    statement = select(*columns).order_by(table.c.id).execution_options(yield_per=batch_size)
    result = session.execute(statement)
    try:
        for event_id, event_prev, event_hash, *fields in result:
            if event_prev != prev_hash:
                return ChainReport(
                    False,
                    checked,
                    event_id,
                    "it does not follow the event before it (an event was deleted, inserted or moved)",
                )
            if _hash(prev_hash, *fields) != event_hash:
                return ChainReport(
                    False, checked, event_id, "its contents were changed after it was written"
                )
            prev_hash = event_hash
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


@dataclass(frozen=True)
class Head:
    """The newest event of the chain: keep a copy elsewhere to check a later trail against."""

    event_id: int | None  # None: the trail was empty
    hash: str
    at: str | None

    def to_json(self) -> str:
        return json.dumps({"event_id": self.event_id, "hash": self.hash, "at": self.at}, indent=2)

    @classmethod
    def from_json(cls, raw: str) -> Head:
        try:
            value = json.loads(raw)
            event_id = value["event_id"]
            digest = str(value["hash"])
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidHead(f"Not an exported audit head: {error}") from error
        if len(digest) != 64 or (event_id is not None and not isinstance(event_id, int)):
            raise InvalidHead("Not an exported audit head: event_id or hash is malformed.")
        return cls(event_id, digest, value.get("at"))


class InvalidHead(EaselError):
    """The file given as an exported head is not one."""


def head(session: Session) -> Head:
    """The newest event's id and hash (the genesis value while the trail is empty)."""
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    if last is None:
        return Head(None, GENESIS, None)
    return Head(last.id, last.hash, last.at.astimezone(UTC).isoformat())


@dataclass(frozen=True)
class HeadReport:
    ok: bool
    message: str


def verify_against(session: Session, exported: Head) -> HeadReport:
    """Whether today's trail verifies and still holds the exported head unchanged.

    The head's hash covers every event before it, so a match means nothing up to the head was
    changed, removed or reordered since the export, even by someone who rebuilt the chain."""
    chain = verify(session)
    if not chain.ok:
        return HeadReport(False, chain.describe())
    if exported.event_id is None:
        return HeadReport(
            True, f"{chain.describe()} The exported head was the empty trail; nothing to compare."
        )
    kept = session.get(AuditEvent, exported.event_id)
    if kept is None:
        return HeadReport(
            False,
            f"The exported head, event {exported.event_id}, is no longer in the trail: events "
            "were removed or the trail was replaced since the export.",
        )
    if kept.hash != exported.hash:
        return HeadReport(
            False,
            f"Event {exported.event_id} is not the one exported (its hash differs): the trail "
            "up to the exported head was rewritten since the export.",
        )
    later = session.exec(select(func.count()).where(col(AuditEvent.id) > exported.event_id)).one()
    return HeadReport(
        True,
        f"{chain.describe()} It still holds the exported head, event {exported.event_id} "
        f"({exported.hash[:12]}...), unchanged; {later} event(s) were added after it.",
    )
