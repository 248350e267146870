"""How fast the console's pages get their data on a demo marketplace.

    python bench/bench_pages.py --customers 100000 [--db PATH] [--repeat 5]

Builds a demo database of N customers at PATH (or reuses it when it already holds data),
fills customer_scores with a quick synthetic score for every customer when there are none
(a random churn probability and value; the real scoring takes minutes and is benchmarked in
bench_scoring.py), then calls each page's data functions directly and prints the median and
slowest of several calls per function.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import audit_views, demo, inventory, jobruns, overview, pauses, results, schema
from core.bulk import write_frame
from core.db import make_engine
from core.scores import CustomerScore
from core.tables import Customer

AS_OF = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)


def prepare(url: str, customers: int, seed: int) -> None:
    engine = make_engine(url)
    schema.upgrade(engine)
    if not demo.has_customers(engine):
        start = time.perf_counter()
        demo.write(engine, demo.generate(customers=customers, seed=seed, end_date=AS_OF))
        print(f"demo data for {customers:,} customers: {time.perf_counter() - start:.0f} s")
    with Session(engine) as session:
        scored = session.scalar(select(func.count()).select_from(CustomerScore))
        ids = [] if scored else list(session.scalars(select(Customer.customer_id)))
    if ids:
        rng = np.random.default_rng(seed)
        probability = rng.beta(2, 5, len(ids))
        value = rng.gamma(2.0, 60.0, len(ids))
        frame = pd.DataFrame(
            {
                "as_of": AS_OF,
                "customer_id": ids,
                "churn_probability": probability,
                "risk_band": np.select(
                    [probability >= 0.5, probability >= 0.25], ["high", "medium"], "low"
                ),
                "expected_value": value,
                "value_at_risk": probability * value,
                "reasons": '["synthetic score for the benchmark"]',
                "scored_at": NOW,
            }
        )
        with engine.begin() as conn:
            write_frame(conn, CustomerScore.__table__, frame, update=False)
        print(f"synthetic scores for {len(ids):,} customers")
    engine.dispose()


CALLS = {
    "overview": {
        "marketplace_summary": lambda s: overview.marketplace_summary(s, as_of=AS_OF),
        "risk_by_band": overview.risk_by_band,
        "awaiting_approval": overview.awaiting_approval,
        "active pauses": lambda s: pauses.active(s, now=NOW),
        "short_skus": lambda s: inventory.short_skus(s, as_of=AS_OF, now=NOW),
        "latest job runs": lambda s: jobruns.latest_runs(s, limit=8),
        "monthly_trend": lambda s: overview.monthly_trend(s, as_of=AS_OF),
    },
    "inventory": {
        "sku_table": lambda s: inventory.sku_table(s, as_of=AS_OF, now=NOW),
        "sku_table short only": lambda s: inventory.sku_table(
            s, as_of=AS_OF, now=NOW, filters=inventory.SkuFilter(short_only=True)
        ),
        "delayed_customers p1": lambda s: inventory.delayed_customers(s, today=AS_OF),
        "delayed_customers p20": lambda s: inventory.delayed_customers(s, today=AS_OF, page=20),
    },
    "audit": {
        "search p1": lambda s: audit_views.search(s, filters=audit_views.AuditFilter()),
        "choices": audit_views.choices,
        "export_csv": lambda s: "".join(
            audit_views.export_csv(s, filters=audit_views.AuditFilter())
        ),
        "override_scorecard": audit_views.override_scorecard,
    },
    "results": {
        "campaign_results": results.campaign_results,
    },
}


def run(url: str, repeat: int) -> list[dict]:
    engine = make_engine(url)
    rows = []
    with Session(engine) as session:
        for page, calls in CALLS.items():
            for name, call in calls.items():
                call(session)  # warm caches and compiled statements
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    call(session)
                    times.append((time.perf_counter() - start) * 1000)
                rows.append(
                    {
                        "page": page,
                        "function": name,
                        "median ms": round(statistics.median(times), 1),
                        "max ms": round(max(times), 1),
                    }
                )
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to build or reuse")
    parser.add_argument("--url", default=None, help="a database URL instead of --db")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{args.db or Path(f'data/bench_pages_{args.customers}.db')}"
    prepare(url, args.customers, args.seed)
    table = pd.DataFrame(run(url, args.repeat))
    table["under 300 ms"] = table["median ms"] < 300
    print(f"\n{args.customers:,} customers, {url.split('://')[0]}, median of {args.repeat} calls")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
