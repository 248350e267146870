"""A benchmark campaign of N proposed offers on a demo database (for bench_approval and bench_dispatch).

One campaign of week BENCH_WEEK, type BENCH_TYPE, with one treated e-mail offer for each of the
first N customers (by id), each featuring one of the best-stocked SKUs, sent on NOW's day. It is
written once with core.bulk.write_frame; a second call finds it and returns it as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

BENCH_WEEK = "2026-W24"
BENCH_TYPE = "win_back"
SEND_DATE = date(2026, 6, 15)
PROPOSED_AT = datetime(2026, 6, 15, 7, tzinfo=UTC)


def find(engine: Engine) -> tuple[int, int] | None:
    """The benchmark campaign's id and number of offers, or None."""
    from core.campaigns import Campaign, Offer

    c, o = Campaign.__table__, Offer.__table__
    with engine.connect() as conn:
        found = conn.execute(
            select(c.c.id).where(c.c.week == BENCH_WEEK, c.c.campaign_type == BENCH_TYPE)
        ).scalar()
        if found is None:
            return None
        count = conn.execute(
            select(func.count()).select_from(o).where(o.c.campaign_id == found)
        ).scalar_one()
    return int(found), int(count)


def create(engine: Engine, offers: int) -> tuple[int, int]:
    """The benchmark campaign (made now with `offers` proposed offers when there is none)."""
    from core.bulk import write_frame
    from core.campaigns import Campaign, Offer
    from core.tables import Customer, StockLevel

    existing = find(engine)
    if existing is not None:
        return existing
    cu, st = Customer.__table__, StockLevel.__table__
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                select(cu.c.customer_id).order_by(cu.c.customer_id).limit(offers)
            ).scalars()
        )
        skus = list(
            conn.execute(select(st.c.sku).order_by(st.c.on_hand.desc()).limit(50)).scalars()
        )
        campaign = pd.DataFrame(
            [
                {
                    "week": BENCH_WEEK,
                    "campaign_type": BENCH_TYPE,
                    "status": "proposed",
                    "as_of": SEND_DATE,
                    "send_date": SEND_DATE,
                    "discount_pct": 10.0,
                    "version": 1,
                    "audience_size": len(ids),
                    "holdout_size": 0,
                    "suppressed_size": 0,
                    "expected_uptake": 0.05 * len(ids),
                    "expected_cost": 0.0,
                    "expected_revenue": 0.0,
                    "needs_manager_approval": True,
                    "message_template": "benchmark campaign",
                    "proposed_at": PROPOSED_AT,
                    "updated_at": PROPOSED_AT,
                }
            ]
        )
        write_frame(conn, Campaign.__table__, campaign, update=False)
        campaign_id = conn.execute(
            select(Campaign.__table__.c.id).where(
                Campaign.__table__.c.week == BENCH_WEEK,
                Campaign.__table__.c.campaign_type == BENCH_TYPE,
            )
        ).scalar_one()
        rng = np.random.default_rng(3)
        frame = pd.DataFrame(
            {
                "campaign_id": campaign_id,
                "week": BENCH_WEEK,
                "campaign_type": BENCH_TYPE,
                "customer_id": ids,
                "status": "proposed",
                "version": 1,
                "holdout": False,
                "sku": np.array(skus or [None], dtype=object)[
                    np.arange(len(ids)) % max(len(skus), 1)
                ],
                "discount_pct": 10.0,
                "credit_amount": 0.0,
                "channel": "email",
                "send_date": SEND_DATE,
                "expected_uptake": 0.05,
                "expected_units": 0.05,
                "expected_cost": rng.gamma(2.0, 2.0, len(ids)).round(2),
                "expected_revenue": rng.gamma(2.0, 20.0, len(ids)).round(2),
                "proposed_at": PROPOSED_AT,
                "updated_at": PROPOSED_AT,
            }
        )
        write_frame(conn, Offer.__table__, frame, update=False)
    return int(campaign_id), len(ids)
