"""Pauses: stop offers on a SKU, a supplier, a category, a customer or everything for a while."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pandas as pd
from sqlalchemy import or_
from sqlmodel import Field, Session, SQLModel, col, select

from core import audit
from core.db import begin_write
from core.errors import InvalidInput, NotFound
from core.roles import Actor, Permission, require
from core.tables import Customer, Product, Supplier

ALL_TARGET = "*"


class PauseScope(StrEnum):
    SKU = "sku"
    SUPPLIER = "supplier"
    CATEGORY = "category"
    CUSTOMER = "customer"
    ALL = "all"


class Pause(SQLModel, table=True):
    """One pause; active from `starts_at` until `ends_at` (open when empty) unless lifted."""

    __tablename__ = "pauses"

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(index=True)
    target: str = Field(index=True)  # the SKU, supplier, category or customer id; "*" for all
    reason: str
    starts_at: datetime
    ends_at: datetime | None = None
    created_by: str
    created_at: datetime
    # Set by the inventory watch; it may lift its own pauses but never a person's.
    automatic: bool = False
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None

    def describe(self) -> str:
        what = "everything" if self.scope == PauseScope.ALL else f"{self.scope} {self.target}"
        until = f" until {self.ends_at:%Y-%m-%d}" if self.ends_at else ""
        return f"paused {what}{until}: {self.reason}"


def _snapshot(pause: Pause) -> dict:
    return pause.model_dump(mode="json")


def _check_target(session: Session, scope: PauseScope, target: str) -> None:
    """A pause on something that does not exist is a typo; say so instead of pausing nothing."""
    exists = {
        PauseScope.SKU: lambda: session.get(Product, target),
        PauseScope.SUPPLIER: lambda: session.get(Supplier, target),
        PauseScope.CUSTOMER: lambda: session.get(Customer, target),
        PauseScope.CATEGORY: lambda: session.exec(
            select(Product.sku).where(Product.category == target).limit(1)
        ).first(),
    }[scope]()
    if not exists:
        raise NotFound(f"There is no {scope.value} {target!r} to pause.")


def pause(
    *,
    session: Session,
    actor: Actor,
    scope: str,
    target: str | None,
    reason: str,
    now: datetime,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    automatic: bool = False,
) -> Pause:
    """Pause offers on one thing (or everything) with a reason, from a start to an optional end."""
    require(actor, Permission.PAUSE_OFFERS)
    begin_write(session)
    try:
        scope_value = PauseScope(scope)
    except ValueError:
        choices = ", ".join(s.value for s in PauseScope)
        raise InvalidInput(f"Unknown pause scope {scope!r}; choose one of {choices}.") from None
    if not reason or not reason.strip():
        raise InvalidInput("A pause needs a reason.")
    starts_at = starts_at or now
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("A pause must end after it starts.")
    if scope_value == PauseScope.ALL:
        target = ALL_TARGET
    else:
        target = (target or "").strip()
        if not target:
            raise InvalidInput(f"Say which {scope_value.value} to pause.")
        _check_target(session, scope_value, target)
    row = Pause(
        scope=scope_value.value,
        target=target,
        reason=reason.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor.username,
        created_at=now,
        automatic=automatic,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pause.create",
        entity_type="pause",
        entity_id=row.id,
        after=_snapshot(row),
        reason=row.reason,
        now=now,
    )
    return row


def lift(*, session: Session, actor: Actor, pause_id: int, reason: str, now: datetime) -> Pause:
    """End a pause now; the reason is kept with it and in the audit trail."""
    require(actor, Permission.PAUSE_OFFERS)
    begin_write(session)
    if not reason or not reason.strip():
        raise InvalidInput("Lifting a pause needs a reason.")
    row = session.get(Pause, pause_id)
    if row is None:
        raise NotFound(f"No pause with id {pause_id}.")
    if row.lifted_at is not None:
        when = f"{row.lifted_at:%Y-%m-%d %H:%M}"
        raise InvalidInput(f"Pause {pause_id} was already lifted on {when}.")
    before = _snapshot(row)
    row.lifted_at = now
    row.lifted_by = actor.username
    row.lift_reason = reason.strip()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="pause.lift",
        entity_type="pause",
        entity_id=row.id,
        before=before,
        after=_snapshot(row),
        reason=row.lift_reason,
        now=now,
    )
    return row


def active(session: Session, *, now: datetime) -> list[Pause]:
    """Pauses in force at `now`: started, not ended, not lifted."""
    statement = (
        select(Pause)
        .where(Pause.starts_at <= now)
        .where(or_(col(Pause.ends_at).is_(None), col(Pause.ends_at) > now))
        .where(or_(col(Pause.lifted_at).is_(None), col(Pause.lifted_at) > now))
        .order_by(col(Pause.id))
    )
    return list(session.exec(statement))


PAUSE_COLUMNS = ["pause_id", "scope", "target", "reason", "ends_at"]


def active_frame(session: Session, *, now: datetime) -> pd.DataFrame:
    """The active pauses as a frame for the guardrails."""
    rows = [
        {
            "pause_id": p.id,
            "scope": p.scope,
            "target": p.target,
            "reason": p.reason,
            "ends_at": p.ends_at,
        }
        for p in active(session, now=now)
    ]
    return pd.DataFrame(rows, columns=PAUSE_COLUMNS)
