"""The send ledger: every idempotency key is claimed before its message leaves, so none leaves twice.

`deliver` wraps any channel. Per batch it (1) claims the batch's keys in a committed
transaction of its own (`sending`), (2) hands only the newly claimed messages to the channel,
(3) records each result. A key that is already `sent`, `sending` or `unknown` is never handed
over again: after a crash between (1) and (3) the message may or may not have left, and the
only safe answer is to ask a person (at most once, never twice). A key whose channel answered
`failed` (the other side refused it) may be claimed again. The ledger uses its own short
transactions through the engine, so it survives the rollback of a failed dispatch run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Column, Text, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel, col

from core.channels import FAILED, Channel, Message, Result

log = logging.getLogger(__name__)

SENDING = "sending"
DUPLICATE = "duplicate"


class Send(SQLModel, table=True):
    """One idempotency key and what became of it."""

    __tablename__ = "sends"

    key: str = Field(primary_key=True)
    channel: str
    recipient: str
    status: str = Field(index=True)  # sending | sent | failed | unknown
    attempts: int = 1
    claimed_at: datetime
    finished_at: datetime | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text))


def _insert(conn: Connection):
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(Send)


def _claim(conn: Connection, messages: Sequence[Message], channel: str, now: datetime) -> set[str]:
    """The keys this call may send: new ones, and ones whose last attempt was refused."""
    rows = [
        {
            "key": m.key,
            "channel": channel,
            "recipient": m.email,
            "status": SENDING,
            "attempts": 1,
            "claimed_at": now,
        }
        for m in messages
    ]
    statement = (
        _insert(conn)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Send.key)  # type: ignore[attr-defined]
    )
    claimed = set(conn.execute(statement).scalars())
    retry = [m.key for m in messages if m.key not in claimed]
    if retry:
        claimed |= set(
            conn.execute(
                update(Send)
                .where(col(Send.key).in_(retry), col(Send.status) == FAILED)
                .values(
                    status=SENDING,
                    channel=channel,
                    attempts=Send.attempts + 1,
                    claimed_at=now,
                    finished_at=None,
                )
                .returning(Send.key)
            ).scalars()
        )
    return claimed


def deliver(
    engine: Engine,
    channel: Channel,
    messages: Sequence[Message],
    *,
    clock: Callable[[], datetime],
    batch_size: int = 100,
) -> list[Result]:
    """Send what has not been sent, through the channel; one result per message, in order."""
    results: dict[int, Result] = {}
    seen: set[str] = set()
    unique: list[tuple[int, Message]] = []
    for position, message in enumerate(messages):
        if message.key in seen:
            results[position] = Result(message.key, DUPLICATE, "repeated in this batch")
        else:
            seen.add(message.key)
            unique.append((position, message))
    for start in range(0, len(unique), batch_size):
        batch = unique[start : start + batch_size]
        with engine.begin() as conn:
            claimed = _claim(conn, [m for _, m in batch], channel.name, clock())
        outgoing = [(p, m) for p, m in batch if m.key in claimed]
        sent = channel.send([m for _, m in outgoing]) if outgoing else []
        if len(sent) != len(outgoing):
            raise RuntimeError(f"Channel {channel.name} answered {len(sent)} of {len(outgoing)}.")
        finished = clock()
        with engine.begin() as conn:
            for result in sent:
                conn.execute(
                    update(Send)
                    .where(col(Send.key) == result.key)
                    .values(status=result.status, finished_at=finished, detail=result.detail)
                )
        for (position, _), result in zip(outgoing, sent, strict=True):
            results[position] = result
        earlier = states(engine, [m.key for _, m in batch if m.key not in claimed])
        for position, message in batch:
            if message.key not in claimed:
                state = earlier.get(message.key, "unknown")
                results[position] = Result(message.key, DUPLICATE, f"already {state}")
    log.info("Delivered %d message(s) through %s.", len(messages), channel.name)
    return [results[p] for p in range(len(messages))]


def states(engine: Engine, keys: Sequence[str]) -> dict[str, str]:
    """The recorded status of each known key (keys never claimed are absent)."""
    if not keys:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(Send.key, Send.status).where(col(Send.key).in_(list(keys))))
        return {key: status for key, status in rows}
