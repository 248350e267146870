"""What a service-recovery request reads: the delayed customers, their offers of the week and
their consents, in a few set-based queries (IN lists in chunks)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from core import inventory
from core.campaigns import Offer
from core.tables import Customer

CHUNK = 5_000


def delayed_frame(session, *, today, within_days: int) -> pd.DataFrame:
    """Every delayed customer of the inventory page's list (all pages)."""
    first = inventory.delayed_customers(session, today=today, within_days=within_days, page_size=1)
    if first.total <= 1:
        return first.rows
    return inventory.delayed_customers(
        session, today=today, within_days=within_days, page_size=first.total
    ).rows


def _in_chunks(conn, statement_for, values: list[str]) -> pd.DataFrame:
    """One frame from the statement run over `values` in chunks (IN lists stay short)."""
    columns = list(statement_for([]).selected_columns.keys())
    frames = [pd.DataFrame(columns=columns)]
    for start in range(0, len(values), CHUNK):
        rows = conn.execute(statement_for(values[start : start + CHUNK])).mappings().all()
        frames.append(pd.DataFrame([dict(r) for r in rows], columns=columns))
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def week_offers(conn, week: str, customers: list[str]) -> pd.DataFrame:
    """The customers' offers of the week, in any campaign and state."""
    o = Offer.__table__
    return _in_chunks(
        conn,
        lambda ids: select(
            o.c.id, o.c.customer_id, o.c.campaign_type, o.c.status, o.c.holdout
        ).where(o.c.week == week, o.c.customer_id.in_(ids)),
        customers,
    )


def consents(conn, customers: list[str]) -> pd.DataFrame:
    """The customers' consent per channel (missing counts as no)."""
    c = Customer.__table__
    frame = _in_chunks(
        conn,
        lambda ids: select(
            c.c.customer_id, c.c.consent_email, c.c.consent_sms, c.c.consent_post
        ).where(c.c.customer_id.in_(ids)),
        customers,
    )
    for column in ("consent_email", "consent_sms", "consent_post"):
        frame[column] = frame[column].fillna(False).astype(bool)
    return frame
