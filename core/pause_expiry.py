"""Close pauses whose end date has passed, so that the record says they ended and when."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core import audit
from core.pauses import Pause
from core.roles import Actor, Permission, require

EXPIRY_REASON = "Reached its end date."


def expire(*, session: Session, actor: Actor, now: datetime) -> list[Pause]:
    """Mark every pause that ended by `now` and was not lifted as lifted at its end; audited."""
    require(actor, Permission.PAUSE_OFFERS)
    # Already inactive for pauses.active(); this only makes the end explicit and audited.
    due = list(
        session.exec(
            select(Pause)
            .where(col(Pause.ends_at).is_not(None), col(Pause.ends_at) <= now)
            .where(col(Pause.lifted_at).is_(None))
            .order_by(col(Pause.id))
        )
    )
    for pause in due:
        before = pause.model_dump(mode="json")
        pause.lifted_at = pause.ends_at
        pause.lifted_by = actor.username
        pause.lift_reason = EXPIRY_REASON
        session.add(pause)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="pause.expire",
            entity_type="pause",
            entity_id=pause.id,
            before=before,
            after=pause.model_dump(mode="json"),
            reason=EXPIRY_REASON,
            now=now,
        )
    return due
