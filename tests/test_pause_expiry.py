"""Pause expiry: pauses past their end are closed by the system, audited; others are left."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core import pause_expiry, pauses
from core.audit import AuditEvent
from core.pauses import Pause
from core.roles import SYSTEM


def _pause(session, now, *, ends_in_days, lifted=False) -> Pause:
    row = Pause(
        scope="all",
        target="*",
        reason="stock count",
        starts_at=now - timedelta(days=10),
        ends_at=None if ends_in_days is None else now + timedelta(days=ends_in_days),
        created_by="ada",
        created_at=now - timedelta(days=10),
        lifted_at=now - timedelta(days=5) if lifted else None,
        lifted_by="ada" if lifted else None,
    )
    session.add(row)
    session.flush()
    return row


def test_only_pauses_past_their_end_are_closed(session, now):
    ended = _pause(session, now, ends_in_days=-1)
    running = _pause(session, now, ends_in_days=3)
    open_ended = _pause(session, now, ends_in_days=None)
    lifted = _pause(session, now, ends_in_days=-2, lifted=True)
    expired = pause_expiry.expire(session=session, actor=SYSTEM, now=now)
    session.commit()
    assert [p.id for p in expired] == [ended.id]
    assert ended.lifted_at == ended.ends_at and ended.lifted_by == "system"
    assert ended.lift_reason == pause_expiry.EXPIRY_REASON
    assert running.lifted_at is None and open_ended.lifted_at is None
    assert lifted.lifted_by == "ada"
    assert {p.id for p in pauses.active(session, now=now)} == {running.id, open_ended.id}


def test_each_expiry_is_audited_as_the_system(session, now):
    ended = _pause(session, now, ends_in_days=-1)
    pause_expiry.expire(session=session, actor=SYSTEM, now=now)
    [event] = session.exec(select(AuditEvent)).all()
    assert (event.action, event.actor, event.entity_id) == ("pause.expire", "system", str(ended.id))


def test_a_second_pass_finds_nothing(session, now):
    _pause(session, now, ends_in_days=-1)
    pause_expiry.expire(session=session, actor=SYSTEM, now=now)
    assert pause_expiry.expire(session=session, actor=SYSTEM, now=now) == []
