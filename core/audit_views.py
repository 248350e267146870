"""Reading the audit trail: filtered pages, one event's before and after, CSV export, the override scorecard."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from core import measurement
from core.audit import AuditEvent
from core.campaigns import Campaign, Offer, Status
from core.csv_safety import safe_row
from core.roles import Role

EVENT_COLUMNS = [
    "id",
    "at",
    "actor",
    "role",
    "action",
    "entity_type",
    "entity_id",
    "reason",
    "before",
    "after",
]


@dataclass(frozen=True)
class AuditFilter:
    """What the trail is narrowed by; empty fields mean no restriction. `until` is exclusive."""

    actor: str | None = None
    role: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _where(filters: AuditFilter) -> list:
    t = AuditEvent.__table__
    conditions = []
    for name in ("actor", "role", "action", "entity_type", "entity_id"):
        value = getattr(filters, name)
        if value:
            conditions.append(t.c[name] == value)
    if filters.since:
        conditions.append(t.c.at >= filters.since)
    if filters.until:
        conditions.append(t.c.at < filters.until)
    return conditions


def search(
    session: Session, *, filters: AuditFilter, page: int = 1, page_size: int = 50
) -> AuditPage:
    """One page of matching events, newest first, with the total count."""
    t = AuditEvent.__table__
    conn = session.connection()
    where = _where(filters)
    total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
    page = max(1, page)
    statement = (
        select(*(t.c[c] for c in EVENT_COLUMNS))
        .where(*where)
        .order_by(t.c.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = pd.read_sql(statement, conn)
    return AuditPage(rows, int(total), page, page_size)


def choices(session: Session) -> dict[str, list[str]]:
    """The people, actions and entity types that occur, and the roles, for the filter menus."""
    conn = session.connection()
    menus = {name: _distinct(conn, name) for name in ("actor", "action", "entity_type")}
    return {"role": sorted(r.value for r in Role), **menus}


def _distinct(conn, name: str) -> list[str]:
    """The column's distinct values, each found by one step along its index from the one before
    (a few lookups per value instead of reading every event)."""
    column = AuditEvent.__table__.c[name]
    values = []
    after = conn.execute(select(func.min(column))).scalar()
    while after is not None:
        values.append(after)
        after = conn.execute(select(func.min(column)).where(column > after)).scalar()
    return values


def _load(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@dataclass(frozen=True)
class EventDiff:
    event_id: int
    before: Any
    after: Any
    changes: pd.DataFrame  # key, before, after: only what differs


def diff(session: Session, *, event_id: int) -> EventDiff | None:
    """One event's before and after, and the keys whose value changed."""
    event = session.get(AuditEvent, event_id)
    if event is None:
        return None
    before, after = _load(event.before), _load(event.after)
    rows = []
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                rows.append(
                    {"key": key, "before": _text(old.get(key)), "after": _text(new.get(key))}
                )
    elif before != after:
        rows.append({"key": "(value)", "before": _text(before), "after": _text(after)})
    return EventDiff(
        event_id, before, after, pd.DataFrame(rows, columns=["key", "before", "after"])
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def export_csv(session: Session, *, filters: AuditFilter, chunk_rows: int = 5_000) -> Iterator[str]:
    """The matching events as CSV text in chunks, oldest first (a header, then rows)."""
    t = AuditEvent.__table__
    statement = (
        select(*(t.c[c] for c in EVENT_COLUMNS))
        .where(*_where(filters))
        .order_by(t.c.id)
        .execution_options(yield_per=chunk_rows)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(EVENT_COLUMNS))
    result = session.connection().execute(statement)
    try:
        for part in result.partitions(chunk_rows):
            for row in part:
                writer.writerow(
                    safe_row(
                        row.at.isoformat() if c == "at" else getattr(row, c) for c in EVENT_COLUMNS
                    )
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    finally:
        result.close()
    if buffer.getvalue():
        yield buffer.getvalue()


def _overridden(o):
    """An offer a person changed on its own: marked overridden, or reviewed one by one."""
    return or_(o.c.status == Status.OVERRIDDEN.value, o.c.reviewed_by.is_not(None))


@dataclass(frozen=True)
class Scorecard:
    proposals: int  # offers proposed to someone (holdout excluded)
    changed: int
    by_person: pd.DataFrame  # reviewed_by, review_reason, campaign_type, offers
    outcomes: pd.DataFrame | None  # measurement.override_scorecard; None before any outcome

    @property
    def changed_share(self) -> float | None:
        return self.changed / self.proposals if self.proposals else None


def override_scorecard(session: Session, *, min_per_group: int = measurement.MIN_PER_GROUP):
    """How many proposals people changed, by whom and why; how changed offers did once measured.

    Outcomes compare changed and unchanged treated offers within the campaigns that have at
    least one changed offer with an outcome, so that only comparable offers are loaded.
    """
    o, c = Offer.__table__, Campaign.__table__
    conn = session.connection()
    # Made (not a suppression record) and treated: read through ix_offers_suppressed_holdout.
    treated = [o.c.suppressed.is_(False), o.c.holdout.is_(False)]
    proposals, changed = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((_overridden(o), 1), else_=0)), 0),
        ).where(*treated)
    ).one()
    by_person = pd.read_sql(
        select(
            o.c.reviewed_by,
            o.c.review_reason,
            o.c.campaign_type,
            func.count().label("offers"),
        )
        .where(*treated, _overridden(o))
        .group_by(o.c.reviewed_by, o.c.review_reason, o.c.campaign_type)
        .order_by(func.count().desc()),
        conn,
    )
    measured = (
        select(o.c.campaign_id)
        .where(*treated, _overridden(o), o.c.converted.is_not(None))
        .distinct()
    )
    frame = pd.read_sql(
        select(
            (c.c.campaign_type + " " + c.c.week).label("campaign"),
            _overridden(o).label("overridden"),
            o.c.converted,
            o.c.outcome_revenue.label("revenue"),
        )
        .select_from(o.join(c, c.c.id == o.c.campaign_id))
        .where(*treated, o.c.converted.is_not(None), o.c.campaign_id.in_(measured)),
        conn,
    )
    outcomes = (
        None if frame.empty else measurement.override_scorecard(frame, min_per_group=min_per_group)
    )
    return Scorecard(int(proposals), int(changed), by_person, outcomes)
