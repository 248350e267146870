"""How fast the console's pages get their data on a demo marketplace.

    python bench/bench_pages.py --customers 100000 [--db PATH] [--repeat 5] [--json]

Builds a demo database of N customers at PATH (or reuses it when it already holds data),
fills customer_scores with a quick synthetic score for every customer when there are none
(a random churn probability and value; the real scoring takes minutes and is benchmarked in
bench_scoring.py), proposes the week's campaigns when there are none (about 100 s at 1M),
refreshes the console summaries (core.summaries) when they never were or when scores were
written since (as the nightly refresh after scoring does), unless --no-summaries; on
PostgreSQL it gathers the statistics of tables never analysed (what autovacuum does after a
bulk load; --no-analyze to measure without). Then it calls every console page's data
functions directly, as the pages call them, and prints the median and slowest of several
calls per function and the peak memory. With --json the last line printed is the slowest
function, the sum of the medians and the peak memory as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import (
    approval_views,
    audit_views,
    customers,
    demo,
    freshness,
    inventory,
    jobruns,
    model_store,
    overview,
    pauses,
    proposals,
    results,
    schema,
    summaries,
)
from core.bulk import write_frame
from core.campaigns import Campaign
from core.db import make_engine, session_scope
from core.manager_approval import stored_impact
from core.roles import SYSTEM, Actor, Role
from core.scores import CustomerScore
from core.tables import Customer

AS_OF = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)


def prepare(
    url: str, customers: int, seed: int, *, refresh: bool = True, analyze: bool = True
) -> None:
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
    with Session(engine) as session:
        if not session.scalar(select(func.count()).select_from(Campaign)):
            start = time.perf_counter()
            proposals.propose(session=session, as_of=AS_OF, now=NOW)
            session.commit()
            print(f"proposals: {time.perf_counter() - start:.0f} s")
        state = summaries.refreshed(session)
        # Scores written after the last refresh: the nightly refresh would follow them.
        stale = (
            state is not None
            and not session.connection().execute(summaries.score_bands_statement()).first()
        )
    if state is None and refresh:
        start = time.perf_counter()
        summaries.refresh_now(engine, now=NOW)
        print(f"console summaries refreshed: {time.perf_counter() - start:.1f} s")
    elif stale and refresh:
        start = time.perf_counter()
        with session_scope(engine) as session:
            since = summaries.nightly_since(session)
            summaries.refresh(session, actor=SYSTEM, now=NOW, since=since)
        print(f"console summaries refreshed from {since}: {time.perf_counter() - start:.1f} s")
    if analyze and engine.dialect.name == "postgresql":
        analyze_unanalyzed(engine)
    engine.dispose()


def analyze_unanalyzed(engine) -> None:
    """ANALYZE the tables PostgreSQL has no statistics for yet, as autovacuum would shortly
    after a bulk load (on a server that runs without autovacuum, the planner would otherwise
    guess every table's size and spread)."""
    with engine.connect() as conn:
        tables = list(
            conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables"
                " WHERE last_analyze IS NULL AND last_autoanalyze IS NULL ORDER BY relname"
            ).scalars()
        )
    if not tables:
        return
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f'ANALYZE "{table}"')
    print(f"statistics gathered for {len(tables)} tables: {time.perf_counter() - start:.1f} s")


MANAGER = Actor("bench-manager", Role.MANAGER)


def calls(session: Session) -> dict[str, dict[str, Callable[[Session], object]]]:
    """Every page's data functions, called as the pages call them (ids looked up once)."""
    week = customers.latest_offer_week(session)
    campaign_weeks = approval_views.weeks(session)
    shown = (
        approval_views.week_campaigns(session, week=campaign_weeks[0]) if campaign_weeks else None
    )
    campaign_id = int(shown["id"].iloc[0]) if shown is not None and len(shown) else None
    best_sellers = inventory.sku_table(session, as_of=AS_OF, now=NOW, sort="forecast demand")
    skus = list(best_sellers["sku"][:20])
    first = customers.at_risk(session, filters=customers.AtRiskFilter(), today=AS_OF)
    customer_id = first.rows["customer_id"].iloc[0] if len(first.rows) else None
    region = (customers.regions(session) or [None])[0]
    category = (customers.categories(session) or [None])[0]

    def at_risk(filters: customers.AtRiskFilter, page: int = 1, sort: str = "value at risk"):
        def call(s: Session):
            result = customers.at_risk(s, filters=filters, today=AS_OF, sort=sort, page=page)
            offers = customers.offers_for(
                s, customer_ids=list(result.rows["customer_id"]), week=week
            )
            return customers.open_offer_per_customer(offers)

        return call

    def impact(s: Session):
        campaign = approval_views.get_campaign(s, campaign_id)
        approval_views.approval_state(campaign, MANAGER)
        if not stored_impact(campaign):
            # Synthetic scores may leave every campaign without SKUs: measure one featuring
            # the 20 best sellers (an unsaved copy), so that the cover is computed.
            pull = {sku: {"expected_units": 5.0, "spare_units": 1.0} for sku in skus}
            campaign = campaign.model_copy(update={"stock_impact": json.dumps(pull)})
        return approval_views.stock_impact(s, campaign=campaign, now=NOW)

    approval = {"weeks": approval_views.weeks, "stock freshness": _freshness}
    if campaign_weeks:
        approval["week_campaigns"] = lambda s: approval_views.week_campaigns(
            s, week=campaign_weeks[0]
        )
    if campaign_id is not None:
        approval["campaign + stock_impact"] = impact
    return {
        "overview": {
            "marketplace_summary": lambda s: overview.marketplace_summary(s, as_of=AS_OF),
            "supplier_issues": overview.supplier_issues,
            "risk_by_band": overview.risk_by_band,
            "awaiting_approval": overview.awaiting_approval,
            "active pauses": lambda s: pauses.active(s, now=NOW),
            "short_skus": lambda s: inventory.short_skus(s, as_of=AS_OF, now=NOW, limit=10),
            "latest job runs": lambda s: jobruns.latest_runs(s, limit=8),
            "monthly_trend": lambda s: overview.monthly_trend(s, as_of=AS_OF),
        },
        "customers": {
            "menus": lambda s: (
                customers.regions(s),
                customers.categories(s),
                customers.latest_offer_week(s),
            ),
            "at_risk default": at_risk(customers.AtRiskFilter()),
            "at_risk page 200": at_risk(customers.AtRiskFilter(), page=200),
            "at_risk all bands by prob": at_risk(
                customers.AtRiskFilter(risk_bands=()), sort="churn probability"
            ),
            "at_risk value>=200 region": at_risk(
                customers.AtRiskFilter(min_expected_value=200.0, region=region)
            ),
            "at_risk category": at_risk(customers.AtRiskFilter(category=category)),
            "at_risk late in 90 days": at_risk(customers.AtRiskFilter(delayed_within_days=90)),
            "at_risk search": at_risk(customers.AtRiskFilter(search="C00012")),
            "story + campaign choices": lambda s: (
                customers.story(s, customer_id=customer_id),
                approval_views.campaign_choices(s, week=week),
            ),
        },
        "campaign approval": approval,
        "inventory": {
            "menus": lambda s: (inventory.categories(s), inventory.suppliers(s)),
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
            "override_scorecard": audit_views.override_scorecard,
        },
        "results": {
            "campaign_results": results.campaign_results,
            "campaign_types": results.campaign_types,
        },
        "model": {
            "active + versions": lambda s: (
                model_store.active_version(s),
                model_store.list_versions(s),
            ),
        },
        "jobs": {
            "latest_runs 50": lambda s: jobruns.latest_runs(s, limit=50),
        },
    }


def _freshness(session: Session):
    return freshness.check(session, now=NOW, max_age=timedelta(hours=24))


def run(url: str, repeat: int) -> list[dict]:
    engine = make_engine(url)
    rows = []
    with Session(engine) as session:
        for page, page_calls in calls(session).items():
            for name, call in page_calls.items():
                call(session)  # warm caches and compiled statements
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    call(session)
                    times.append((time.perf_counter() - start) * 1000)
                print(f"{page:>18} {name:<28} {statistics.median(times):9.1f} ms", flush=True)
                rows.append(
                    {
                        "page": page,
                        "function": name,
                        "median ms": round(statistics.median(times), 1),
                        "max ms": round(max(times), 1),
                    }
                )
        # Built when a manager clicks the export button, not on a visit: timed once, apart.
        start = time.perf_counter()
        text = "".join(audit_views.export_csv(session, filters=audit_views.AuditFilter()))
        print(
            f"on click, not a page visit: the whole audit trail as CSV ({len(text) / 1e6:,.0f} MB)"
            f" in {time.perf_counter() - start:.1f} s"
        )
    engine.dispose()
    return rows


def _reset_peak() -> None:
    """Forget the peak memory of the preparation (Linux: /proc/self/clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    """The process's peak resident memory since the last reset, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to build or reuse")
    parser.add_argument("--url", default=None, help="a database URL instead of --db")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-summaries",
        action="store_true",
        help="do not refresh the console summaries (measures the direct computation)",
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL: leave tables without statistics as they are",
    )
    parser.add_argument("--json", action="store_true", help="end with the figures as JSON")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{args.db or Path(f'data/bench_pages_{args.customers}.db')}"
    prepare(
        url, args.customers, args.seed, refresh=not args.no_summaries, analyze=not args.no_analyze
    )
    _reset_peak()
    table = pd.DataFrame(run(url, args.repeat))
    table["under 300 ms"] = table["median ms"] < 300
    print(f"\n{args.customers:,} customers, {url.split('://')[0]}, median of {args.repeat} calls")
    print(table.to_string(index=False))
    print(f"peak memory while calling the pages' functions: {_peak_mb():,.0f} MB")
    if args.json:
        slowest = table.loc[table["median ms"].idxmax()]
        figures = {
            "stage": "console pages",
            "functions": len(table),
            "slowest": f"{slowest['page']}: {slowest['function']}",
            "slowest_ms": float(slowest["median ms"]),
            "total_ms": round(float(table["median ms"].sum()), 1),
            "peak_mb": round(_peak_mb()),
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
