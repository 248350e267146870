"""Time and peak memory of a week's proposals (`core.proposals.propose`) per number of customers.

    python bench/bench_proposals.py --customers 100000 [1000000] [--db DIR]
    python bench/bench_proposals.py --db PATH.db

For each size a scratch SQLite database is filled with the demo marketplace and seeded churn
scores (random but fixed, so that scoring's own cost is not counted here), in one process;
the proposal then runs in a fresh process, so its peak memory is its own. The run is repeated
once to time a rerun of the same week (which replaces the unreviewed proposals).

`--db DIR` keeps the databases in DIR and reuses them on the next run; `--db PATH.db` runs
on an existing demo database as it is (seeding scores at the as-of date when it has none).
Before timing, the week's campaigns and offers from earlier runs are deleted, so that the
first run is always a fresh proposal: the database is written to, so give it a copy of one
that someone else is using.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 6, 14)
WEEK = "2026-W25"


def setup(customers: int, url: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from core import demo, schema
    from core.db import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    start = time.perf_counter()
    frames = demo.generate(customers=customers, seed=42, end_date=END)
    demo.write(engine, frames)
    seed_scores(engine, frames["customers"]["customer_id"])
    engine.dispose()
    return {"setup_s": round(time.perf_counter() - start, 1), "orders": len(frames["orders"])}


def seed_scores(engine, ids) -> None:
    """Random but fixed churn scores at END for the given customers."""
    import numpy as np
    import pandas as pd

    from core.bulk import write_frame
    from core.scores import CustomerScore

    rng = np.random.default_rng(1)
    probability = rng.beta(2, 3, len(ids))
    value = rng.gamma(2.0, 60.0, len(ids))
    scores = pd.DataFrame(
        {
            "as_of": END,
            "customer_id": ids,
            "churn_probability": probability,
            "risk_band": np.select(
                [probability < 0.3, probability < 0.6], ["low", "medium"], "high"
            ),
            "expected_value": value,
            "value_at_risk": value * probability,
            "reasons": '["seeded for the benchmark"]',
            "scored_at": datetime(2026, 6, 14, 6, tzinfo=UTC),
        }
    )
    with engine.begin() as conn:
        write_frame(conn, CustomerScore.__table__, scores, update=False)


def prepare(engine) -> None:
    """Scores at END when the database has none; no campaigns or offers of WEEK."""
    import pandas as pd
    from sqlalchemy import delete, func, select

    from core import schema
    from core.campaigns import Campaign, Offer
    from core.scores import CustomerScore

    schema.upgrade(engine)
    scores_t = CustomerScore.__table__
    with engine.begin() as conn:
        scored = conn.execute(
            select(func.count()).select_from(scores_t).where(scores_t.c.as_of == END)
        ).scalar_one()
        conn.execute(delete(Offer.__table__).where(Offer.__table__.c.week == WEEK))
        conn.execute(delete(Campaign.__table__).where(Campaign.__table__.c.week == WEEK))
    if not scored:
        ids = pd.read_sql("SELECT customer_id FROM customers ORDER BY customer_id", engine)
        seed_scores(engine, ids["customer_id"])


def propose_once(url: str, repeats: int = 2) -> dict:
    sys.path.insert(0, str(ROOT))
    from core import proposals
    from core.db import make_engine, session_scope

    engine = make_engine(url)
    prepare(engine)
    runs = []
    for attempt in range(repeats):
        steps: dict[str, float] = {}
        cpu: dict[str, float] = {}
        last = [time.perf_counter(), None, time.process_time()]

        def step(label: str, steps=steps, cpu=cpu, last=last) -> None:
            now, used = time.perf_counter(), time.process_time()
            if last[1]:
                steps[last[1]] = round(now - last[0], 2)
                cpu[last[1]] = round(used - last[2], 2)
            last[0], last[1], last[2] = now, label, used

        start, start_cpu = time.perf_counter(), time.process_time()
        with session_scope(engine) as session:
            summary = proposals.propose(
                session=session,
                as_of=END,
                week=WEEK,
                now=datetime(2026, 6, 14, 7, attempt, tzinfo=UTC),
                progress=step,
            )
            step("done")
        runs.append(
            {
                "seconds": round(time.perf_counter() - start, 2),
                "cpu_seconds": round(time.process_time() - start_cpu, 2),
                "steps": steps,
                "cpu_steps": cpu,
                "offers": summary.offers,
                "suppressed": summary.suppressed,
            }
        )
    engine.dispose()
    return {
        "runs": runs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def count_customers(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--db",
        default="",
        help="keep the scratch databases in this folder, or run on this existing .db file",
    )
    parser.add_argument("--once", action="store_true", help="skip the rerun of the same week")
    parser.add_argument("--child", choices=["setup", "propose"], help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "setup":
        print(json.dumps(setup(args.customers[0], args.url)))
        return
    if args.child == "propose":
        print(json.dumps(propose_once(args.url, 1 if args.once else 2)))
        return
    given = Path(args.db) if args.db.endswith(".db") else None
    if given is not None and not given.is_file():
        parser.error(f"{given} does not exist")
    for customers in [count_customers(given)] if given else args.customers:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(args.db or scratch)
            if given is None:
                folder.mkdir(parents=True, exist_ok=True)
            path = given or folder / f"proposals-{customers}.db"
            url = f"sqlite:///{path}"
            if not path.exists():
                made = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        "setup",
                        "--customers",
                        str(customers),
                        "--url",
                        url,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                print(
                    f"{customers:,} customers: set up in {json.loads(made.splitlines()[-1])['setup_s']} s"
                )
            out = subprocess.run(
                [sys.executable, __file__, "--child", "propose", "--url", url]
                + (["--once"] if args.once else []),
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        first, *rerun = result["runs"]
        again = f", rerun {rerun[0]['seconds']:.1f} s" if rerun else ""
        print(
            f"{customers:>10,} customers: propose {first['seconds']:.1f} s{again}, "
            f"peak memory {result['peak_rss_mb']:,} MB; {first['offers']:,} offers, {first['suppressed']:,} suppressed"
        )
        print("    steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in first["steps"].items()))
        # CPU time of the process: what the run costs when others share the machine's cores.
        print(
            f"    cpu {first['cpu_seconds']:.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in first["cpu_steps"].items())
        )


if __name__ == "__main__":
    main()
