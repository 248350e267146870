"""The send ledger with batches of thousands of keys, and long key lists, on either database."""

from __future__ import annotations

from sqlalchemy import func, select

from core import sends
from core.channels import FAILED, SENT, Message, Result
from core.sends import Send
from core.sql_lists import PIECE, among


def _messages(count: int, prefix: str = "bulk:") -> list[Message]:
    return [
        Message(
            key=f"{prefix}{n}", email=f"p{n}@example.com", first_name="P", subject="s", body="b"
        )
        for n in range(count)
    ]


class Channel:
    """Accepts every message except those whose number is a multiple of `refuse_every`."""

    name = "fake"

    def __init__(self, refuse_every: int = 0):
        self.refuse_every, self.handed = refuse_every, []

    def send(self, messages):
        self.handed.extend(m.key for m in messages)
        return [
            Result(m.key, FAILED, "refused")
            if self.refuse_every and int(m.key.split(":")[1]) % self.refuse_every == 0
            else Result(m.key, SENT, f"batch of {len(messages)}")
            for m in messages
        ]


def _statuses(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Send.status, func.count()).group_by(Send.status))
        return {status: count for status, count in rows}


def test_a_big_batch_is_claimed_recorded_and_never_sent_twice(engine, now):
    messages = _messages(2 * PIECE + 7)
    first = Channel(refuse_every=1000)
    results = sends.deliver(engine, first, messages, clock=lambda: now, batch_size=len(messages))
    refused = {f"bulk:{n}" for n in range(0, len(messages), 1000)}
    assert [r.key for r in results] == [m.key for m in messages]
    assert {r.key for r in results if r.status == FAILED} == refused
    assert _statuses(engine) == {SENT: len(messages) - len(refused), FAILED: len(refused)}
    with engine.connect() as conn:
        details = set(conn.execute(select(Send.detail).where(Send.status == SENT)).scalars())
    assert details == {f"batch of {len(messages)}"}

    again = Channel()
    results = sends.deliver(engine, again, messages, clock=lambda: now, batch_size=PIECE)
    assert sorted(again.handed) == sorted(refused)  # only the refused ones are tried again
    assert sum(r.status == sends.DUPLICATE for r in results) == len(messages) - len(refused)
    assert _statuses(engine) == {SENT: len(messages)}
    with engine.connect() as conn:
        statement = select(Send.attempts).where(Send.key.in_(sorted(refused)))
        attempts = list(conn.execute(statement).scalars())
    assert attempts == [2] * len(refused)


def test_among_selects_a_list_longer_than_the_databases_limit_on_bound_values(engine, now):
    messages = _messages(5)
    sends.deliver(engine, Channel(), messages, clock=lambda: now)
    wanted = [m.key for m in messages[:3]] + [f"other:{n}" for n in range(70_000)]
    with engine.connect() as conn:
        found = [
            key
            for condition in among(conn, Send.__table__.c.key, wanted)
            for key in conn.execute(select(Send.key).where(condition)).scalars()
        ]
        assert list(among(conn, Send.__table__.c.key, [])) == []
    assert sorted(found) == [m.key for m in messages[:3]]
