"""Time dispatching one approved campaign's offers (`core.dispatch.dispatch`) through the CSV channel.

    python bench/bench_dispatch.py --offers 100000 [--db PATH.db | --url URL] [--customers N]

Makes (untimed) the benchmark campaign of bench/campaign_setup.py with an offer for each of the
first --offers customers and approves it as a manager, unless bench_approval.py left it approved;
then times one dispatch run at its send date: the due-offer query, the re-checks (pauses,
consent, stock, contact cap), the send ledger, the list-import files written to a scratch
outbox and the offers' new states with the run's audit event. A rerun first sets the offers
back to approved and forgets their keys in the send ledger, so that it measures the same work.
A scratch SQLite file with a demo marketplace is built when neither --db nor --url is given;
a database given is written to (use a copy). The last line printed is the figures as JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

APPROVED_AT = datetime(2026, 6, 15, 8, tzinfo=UTC)
NOW = datetime(2026, 6, 15, 10, tzinfo=UTC)


def prepare(engine, offers: int) -> int:
    """The benchmark campaign, approved, its offers due and unsent; returns its id."""
    import campaign_setup
    from sqlalchemy import String, cast, delete, literal, select, update

    from core import campaign_reviews
    from core.campaigns import Campaign, Offer
    from core.db import session_scope
    from core.roles import Actor, Role
    from core.sends import OFFER_KEY, Send

    campaign_id, _ = campaign_setup.create(engine, offers)
    c, o, s = Campaign.__table__, Offer.__table__, Send.__table__
    with engine.begin() as conn:
        status = conn.execute(select(c.c.status).where(c.c.id == campaign_id)).scalar_one()
        keys = select(literal(OFFER_KEY) + cast(o.c.id, String)).where(
            o.c.campaign_id == campaign_id
        )
        conn.execute(delete(s).where(s.c.key.in_(keys)))
        if status != "proposed":
            conn.execute(
                update(o)
                .where(o.c.campaign_id == campaign_id)
                .values(status="approved", sent_at=None, idempotency_key=None, reason=None)
            )
            conn.execute(
                update(c)
                .where(c.c.id == campaign_id)
                .values(status="approved", reviewed_at=APPROVED_AT)
            )
            return campaign_id
    with session_scope(engine) as session:
        campaign_reviews.approve(
            session=session,
            campaign_id=campaign_id,
            actor=Actor("bench-manager", Role.MANAGER),
            reason="benchmark: approved for dispatch",
            now=APPROVED_AT,
        )
    return campaign_id


def dispatch_once(url: str, offers: int, outbox: Path) -> dict:
    from core import dispatch
    from core.channels import CsvExportChannel
    from core.db import make_engine, session_scope
    from core.roles import SYSTEM

    engine = make_engine(url)
    prepare(engine, offers)
    start = time.perf_counter()
    with session_scope(engine) as session:
        summary = dispatch.dispatch(
            session=session,
            engine=engine,
            channel=CsvExportChannel(outbox, stamp=NOW),
            actor=SYSTEM,
            now=NOW,
            clock=lambda: NOW,
            max_age=timedelta(hours=168),
            material_change=0.5,
        )
    seconds = time.perf_counter() - start
    engine.dispose()
    handled = summary.changes + summary.held + summary.failed + summary.uncertain
    return {
        "stage": "dispatch",
        "seconds": round(seconds, 3),
        "rows": handled,
        "sent": summary.sent,
        "suppressed": summary.suppressed,
        "expired": summary.expired,
        "held": summary.held,
        "reasons": summary.reasons,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    from bench_approval import ensure_demo, parse_campaign_args

    args = parse_campaign_args(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{args.db or Path(scratch) / 'dispatch.db'}"
        ensure_demo(url, args.customers or args.offers)
        result = dispatch_once(url, args.offers, Path(scratch) / "outbox")
    print(
        f"dispatched {result['rows']:,} due offers in {result['seconds']:.2f} s "
        f"({result['rows'] / max(result['seconds'], 1e-9):,.0f} offers/s): {result['sent']:,} sent, "
        f"{result['suppressed']:,} suppressed, {result['expired']:,} expired, {result['held']:,} held; "
        f"peak memory {result['peak_mb']:,} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
