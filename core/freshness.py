"""Data freshness: approvals wait while the stock feed is older than a configured age.

An offer approved on stale stock figures can promise what is no longer on the shelf, so the
approval services call `require_fresh` before approving, and the approval page shows
`check(...).message` as a banner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from core.config import Settings
from core.errors import InvalidInput
from core.tables import StockLevel


@dataclass(frozen=True)
class Freshness:
    updated_at: datetime | None  # the newest stock update, None when there is no stock at all
    max_age: timedelta
    now: datetime

    @property
    def age(self) -> timedelta | None:
        return None if self.updated_at is None else self.now - self.updated_at

    @property
    def fresh(self) -> bool:
        return self.age is not None and self.age <= self.max_age

    @property
    def message(self) -> str:
        """What a person reads: why approvals are blocked (empty when they are not)."""
        if self.fresh:
            return ""
        limit = _hours(self.max_age)
        if self.updated_at is None:
            return (
                "Approvals are blocked: there are no stock levels yet. "
                "Import the stock feed before approving offers."
            )
        return (
            f"Approvals are blocked: the stock feed was last updated "
            f"{self.updated_at:%Y-%m-%d %H:%M} UTC, {_hours(self.age)} ago, more than the "
            f"{limit} allowed. Import fresh stock levels before approving offers."
        )


def _hours(span: timedelta | None) -> str:
    hours = (span or timedelta()).total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.1f} days"


def max_age(settings: Settings) -> timedelta:
    """The configured limit (EASEL_STOCK_FEED_MAX_AGE_HOURS)."""
    return timedelta(hours=settings.stock_feed_max_age_hours)


def check(session: Session, *, now: datetime, max_age: timedelta) -> Freshness:
    """How old the stock feed is: max(stock_levels.updated_at) against the limit."""
    newest = session.connection().execute(select(func.max(StockLevel.__table__.c.updated_at)))
    updated_at = newest.scalar()
    if isinstance(updated_at, str):  # SQLite's max() returns the stored text, not the type
        updated_at = datetime.fromisoformat(updated_at)
    if updated_at is not None and updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=UTC)
    return Freshness(updated_at, max_age, now)


def require_fresh(session: Session, *, now: datetime, max_age: timedelta) -> None:
    """Raise InvalidInput with the banner's message when the stock feed is too old."""
    state = check(session, now=now, max_age=max_age)
    if not state.fresh:
        raise InvalidInput(state.message)
