"""Time verifying the audit trail's hash chain (`core.audit.verify`) over N events.

    python bench/bench_audit.py --events 1000000 [--db PATH.db | --url URL]

Appends (untimed) synthetic events to the database's chain until it holds at least --events
events, each chained to the one before exactly as core.audit.record chains them, written in
bulk (one audit.record per event would take longer than the verification); then times one
verification of the whole chain and checks that it passed. Without --db or --url a scratch
SQLite file is used; a database given is written to (use a copy). The last line printed is
the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 50_000


def fill(engine, events: int) -> int:
    """Append synthetic chained events until the trail holds `events`; returns how many were added."""
    import pandas as pd
    from sqlalchemy import func, select

    from core import audit
    from core.bulk import write_frame

    table = audit.AuditEvent.__table__
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(table)).scalar_one()
        last = conn.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar()
    prev_hash, added = last or audit.GENESIS, 0
    while have + added < events:
        rows = []
        for n in range(added, min(added + CHUNK, events - have)):
            event = SimpleNamespace(
                at=START + timedelta(seconds=n),
                actor="bench",
                role="system",
                action="bench.event",
                entity_type="offer",
                entity_id=str(n),
                before=None,
                after=f'{{"n":{n},"status":"approved"}}',
                reason="benchmark",
            )
            event.prev_hash = prev_hash
            # The chain's own digest, so that verify checks real links.
            event.hash = prev_hash = audit.digest(prev_hash, event)
            rows.append(vars(event))
        with engine.begin() as conn:
            write_frame(conn, table, pd.DataFrame(rows), update=False)
        added += len(rows)
    return added


def verify_once(url: str, events: int) -> dict:
    from sqlmodel import Session

    from core import audit, schema
    from core.db import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    added = fill(engine, events)
    start = time.perf_counter()
    with Session(engine) as session:
        report = audit.verify(session)
    seconds = time.perf_counter() - start
    engine.dispose()
    if not report.ok:
        raise SystemExit(report.describe())
    return {
        "stage": "audit verification",
        "seconds": round(seconds, 3),
        "rows": report.checked,
        "added": added,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to use (or create)")
    parser.add_argument("--url", default="", help="a database URL instead of --db")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{args.db or Path(scratch) / 'audit.db'}"
        result = verify_once(url, args.events)
    print(
        f"verified {result['rows']:,} audit events in {result['seconds']:.2f} s "
        f"({result['rows'] / max(result['seconds'], 1e-9):,.0f} events/s; {result['added']:,} added "
        f"for the benchmark), peak memory {result['peak_mb']:,} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
