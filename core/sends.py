"""The send ledger: every idempotency key is claimed before its message leaves, so none leaves twice.

`deliver` wraps any channel. Per batch it (1) claims the batch's keys in a committed
transaction of its own (`sending`), (2) hands only the newly claimed messages to the channel,
(3) records each result. A key that is already `sent`, `sending` or `unknown` is never handed
over again: after a crash between (1) and (3) the message may or may not have left, and the
only safe answer is to ask a person (at most once, never twice). A key whose channel answered
`failed` (the other side refused it) may be claimed again. The ledger uses its own short
transactions through the engine, so it survives the rollback of a failed dispatch run.

`unresolved` lists the keys whose outcome nobody knows (`unknown`, or `sending` for longer than
a run takes); an admin settles them with `resolve`: delivered (the offer is marked sent) or not
delivered (the key may be claimed again, so the next dispatch sends the offer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Column, Text, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, col

from core import audit
from core.campaigns import Offer, Status
from core.channels import FAILED, SENT, UNKNOWN, Channel, Message, Result
from core.db import begin_write
from core.errors import InvalidInput, NotFound
from core.roles import Actor, Permission, require
from core.sql_lists import among

log = logging.getLogger(__name__)

SENDING = "sending"
DUPLICATE = "duplicate"
# A claim still `sending` after this long belongs to a run that died before it could confirm.
STALE_CLAIM = timedelta(hours=1)
DELIVERED, NOT_DELIVERED = "delivered", "not_delivered"
OFFER_KEY = "offer:"


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


SENDS = Send.__table__
CLAIMED = ["key", "channel", "recipient", "status", "attempts", "claimed_at"]


def _claim_statement(conn: Connection, messages: Sequence[Message], channel: str, now: datetime):
    """INSERT the messages' keys as `sending` unless already there, RETURNING those inserted."""
    if conn.dialect.name == "postgresql":
        # The keys travel as two arrays, not six bound values per message.
        given = (
            func.unnest(
                bindparam("keys", [m.key for m in messages], type_=ARRAY(SENDS.c.key.type)),
                bindparam(
                    "emails", [m.email for m in messages], type_=ARRAY(SENDS.c.recipient.type)
                ),
            )
            .table_valued("key", "recipient")
            .render_derived()
        )
        source = select(
            given.c.key,
            literal(channel, SENDS.c.channel.type),
            given.c.recipient,
            literal(SENDING, SENDS.c.status.type),
            literal(1, SENDS.c.attempts.type),
            literal(now, SENDS.c.claimed_at.type),
        )
        return pg_insert(SENDS).from_select(CLAIMED, source), None
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
    # One compiled statement for the batch, its rows sent as one executemany (which returns
    # the keys it inserted).
    return sqlite_insert(SENDS), rows


def _claim(conn: Connection, messages: Sequence[Message], channel: str, now: datetime) -> set[str]:
    """The keys this call may send: new ones, and ones whose last attempt was refused."""
    insert, rows = _claim_statement(conn, messages, channel, now)
    # A key already in the ledger is left as it is.
    statement = insert.on_conflict_do_nothing(index_elements=["key"]).returning(SENDS.c.key)
    claimed = set(conn.execute(statement, rows).scalars())
    retry = [m.key for m in messages if m.key not in claimed]
    for chosen in among(conn, SENDS.c.key, retry):
        claimed |= set(
            conn.execute(
                update(SENDS)
                .where(chosen, SENDS.c.status == FAILED)
                .values(
                    status=SENDING,
                    channel=channel,
                    attempts=SENDS.c.attempts + 1,
                    claimed_at=now,
                    finished_at=None,
                )
                .returning(SENDS.c.key)
            ).scalars()
        )
    return claimed


def _record(conn: Connection, results: Sequence[Result], finished: datetime) -> None:
    """Write each result to its key: one statement per distinct (status, detail), not per key."""
    groups: dict[tuple[str, str], list[str]] = {}
    for result in results:
        groups.setdefault((result.status, result.detail), []).append(result.key)
    for (status, detail), keys in groups.items():
        for chosen in among(conn, SENDS.c.key, keys):
            conn.execute(
                update(SENDS)
                .where(chosen)
                .values(status=status, finished_at=finished, detail=detail)
            )


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
            _record(conn, sent, finished)
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


def _unresolved(now: datetime, stale_after: timedelta):
    return or_(
        col(Send.status) == UNKNOWN,
        (col(Send.status) == SENDING) & (col(Send.claimed_at) < now - stale_after),
    )


def _offer_id(key: str) -> int | None:
    tail = key.removeprefix(OFFER_KEY)
    return int(tail) if key.startswith(OFFER_KEY) and tail.isdigit() else None


UNRESOLVED_COLUMNS = [
    "key",
    "channel",
    "recipient",
    "status",
    "attempts",
    "claimed_at",
    "detail",
    "offer_id",
    "customer_id",
    "campaign_type",
    "week",
    "offer_status",
]


def unresolved(
    session: Session, *, now: datetime, stale_after: timedelta = STALE_CLAIM
) -> pd.DataFrame:
    """Sends whose outcome nobody knows, the oldest first, with their offer where there is one.

    They block a resend until a person says whether the message arrived (`resolve`).
    """
    conn = session.connection()
    rows = conn.execute(
        select(
            Send.key,
            Send.channel,
            Send.recipient,
            Send.status,
            Send.attempts,
            Send.claimed_at,
            Send.detail,
        )
        .where(_unresolved(now, stale_after))
        .order_by(col(Send.claimed_at), col(Send.key))
    ).mappings()
    frame = pd.DataFrame([dict(r) for r in rows], columns=UNRESOLVED_COLUMNS[:7])
    frame["offer_id"] = frame["key"].map(_offer_id).astype("Int64")
    ids = [int(i) for i in frame["offer_id"].dropna()]
    o = Offer.__table__
    offers = pd.DataFrame(
        [
            dict(r)
            for r in conn.execute(
                select(
                    o.c.id.label("offer_id"),
                    o.c.customer_id,
                    o.c.campaign_type,
                    o.c.week,
                    o.c.status.label("offer_status"),
                ).where(o.c.id.in_(ids))
            ).mappings()
        ]
        if ids
        else [],
        columns=["offer_id", "customer_id", "campaign_type", "week", "offer_status"],
    ).astype({"offer_id": "Int64"})
    return frame.merge(offers, on="offer_id", how="left")[UNRESOLVED_COLUMNS]


def resolve(
    *,
    session: Session,
    actor: Actor,
    keys: Sequence[str],
    outcome: str,
    reason: str,
    now: datetime,
    stale_after: timedelta = STALE_CLAIM,
) -> int:
    """Settle sends of unknown outcome, all or nothing, one audit event each.

    `delivered`: the key becomes `sent` and its offer is marked sent (as of the claim).
    `not_delivered`: the key becomes `failed`, so the next dispatch sends the offer again.
    """
    require(actor, Permission.RESOLVE_SENDS)
    begin_write(session)
    if outcome not in (DELIVERED, NOT_DELIVERED):
        raise InvalidInput(f"Say {DELIVERED!r} or {NOT_DELIVERED!r}, not {outcome!r}.")
    if not reason or not reason.strip():
        raise InvalidInput("Say why: a reason is required.")
    reason = reason.strip()
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise InvalidInput("Choose at least one send to resolve.")
    found = {s.key: s for s in session.exec(select(Send).where(col(Send.key).in_(keys))).scalars()}
    missing = [k for k in keys if k not in found]
    if missing:
        raise NotFound(f"No send with key {', '.join(missing)}.")
    open_keys = set(
        session.exec(
            select(Send.key).where(col(Send.key).in_(keys), _unresolved(now, stale_after))
        ).scalars()
    )
    settled = [k for k in keys if k not in open_keys]
    if settled:
        raise InvalidInput(
            "Only sends of unknown outcome can be resolved; "
            + ", ".join(f"{k} is {found[k].status}" for k in settled)
            + "."
        )
    status = SENT if outcome == DELIVERED else FAILED
    words = "delivered" if outcome == DELIVERED else "not delivered"
    conn = session.connection()
    for key in keys:
        send = found[key]
        before = {"status": send.status, "detail": send.detail}
        detail = f"resolved as {words} by {actor.username}: {reason}"
        conn.execute(
            update(Send)
            .where(col(Send.key) == key)
            .values(status=status, finished_at=now, detail=detail)
        )
        offer_id = _offer_id(key)
        if outcome == DELIVERED and offer_id is not None:
            o = Offer.__table__
            conn.execute(
                update(o)
                .where(o.c.id == offer_id, o.c.sent_at.is_(None))
                .values(
                    status=Status.SENT.value,
                    sent_at=send.claimed_at,
                    idempotency_key=key,
                    version=o.c.version + 1,
                    updated_at=now,
                )
            )
        audit.record(
            session,
            actor=actor,
            action="send.resolve",
            entity_type="send",
            entity_id=key,
            before=before,
            after={"status": status, "outcome": outcome, "offer_id": offer_id},
            reason=reason,
            now=now,
        )
    return len(keys)
