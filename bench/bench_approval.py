"""Time one bulk approval of a large campaign (`core.campaign_reviews.approve`) on a demo database.

    python bench/bench_approval.py --offers 100000 [--db PATH.db | --url URL] [--customers N]

Makes (untimed) one proposed campaign with an offer for each of the first --offers customers
(bench/campaign_setup.py), then times a manager's approval of it: the version-checked campaign
update, one set-based update of its offers and one audit event, in one transaction. A scratch
SQLite file with a demo marketplace of --customers (default: as many as --offers) is built
when neither --db nor --url is given; a database given is written to (use a copy). When the
benchmark campaign is already approved, it is set back to proposed first (on PostgreSQL the
offers are then vacuumed, so that a rerun does not step over the old copies). The last line
printed is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NOW = datetime(2026, 6, 15, 8, tzinfo=UTC)


def ensure_demo(url: str, customers: int) -> None:
    """A demo marketplace of `customers` at `url` unless it already holds customers."""
    from core import demo, schema
    from core.db import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    if not demo.has_customers(engine):
        demo.write(engine, demo.generate(customers=customers, seed=42, end_date=date(2026, 6, 15)))
    engine.dispose()


def reset(engine, campaign_id: int) -> None:
    """Set the benchmark campaign and its offers back to proposed (a rerun measures the same work).

    Only rows that moved on are written: rewriting a just-made campaign's offers as they are
    would leave a dead copy of each (PostgreSQL) for the timed approval to step over.
    """
    from sqlalchemy import or_, update

    from core.campaigns import Campaign, Offer

    c, o = Campaign.__table__, Offer.__table__
    with engine.begin() as conn:
        conn.execute(
            update(c)
            .where(c.c.id == campaign_id, c.c.status != "proposed")
            .values(status="proposed")
        )
        moved = conn.execute(
            update(o)
            .where(
                o.c.campaign_id == campaign_id,
                or_(o.c.status != "proposed", o.c.sent_at.is_not(None)),
            )
            .values(status="proposed", sent_at=None)
        ).rowcount
    if moved and engine.dialect.name == "postgresql":
        # The old copies go, as autovacuum would take them on a server that runs it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM offers")


def approve_once(url: str, offers: int) -> dict:
    import campaign_setup
    from sqlalchemy import func, select

    from core import campaign_reviews
    from core.campaigns import Offer
    from core.db import make_engine, session_scope
    from core.roles import Actor, Role

    engine = make_engine(url)
    campaign_id, count = campaign_setup.create(engine, offers)
    reset(engine, campaign_id)
    manager = Actor("bench-manager", Role.MANAGER)
    start = time.perf_counter()
    with session_scope(engine) as session:
        campaign_reviews.approve(
            session=session,
            campaign_id=campaign_id,
            actor=manager,
            reason="benchmark: bulk approval",
            now=NOW,
        )
    seconds = time.perf_counter() - start
    o = Offer.__table__
    with engine.connect() as conn:
        approved = conn.execute(
            select(func.count())
            .select_from(o)
            .where(o.c.campaign_id == campaign_id, o.c.status == "approved")
        ).scalar_one()
    engine.dispose()
    return {
        "stage": "approval",
        "seconds": round(seconds, 3),
        "rows": int(approved),
        "offers": count,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def parse_campaign_args(description: str) -> argparse.Namespace:
    """The options of the benchmarks that build one campaign of N offers on a demo database."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=0, help="demo size when one is built")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to use (or build)")
    parser.add_argument("--url", default="", help="a database URL instead of --db")
    return parser.parse_args()


def main() -> None:
    args = parse_campaign_args(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{args.db or Path(scratch) / 'approval.db'}"
        ensure_demo(url, args.customers or args.offers)
        result = approve_once(url, args.offers)
    print(
        f"approved a campaign of {result['rows']:,} offers in {result['seconds']:.2f} s "
        f"({result['rows'] / max(result['seconds'], 1e-9):,.0f} offers/s), "
        f"peak memory {result['peak_mb']:,} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
