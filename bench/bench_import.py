"""Time importing a generated transactions log (100k and 1M rows) into a fresh SQLite database.

    python bench/bench_import.py --rows 100000 [1000000] [--once] [--url URL] [--json]

The log has about ten rows per customer. Each size is imported twice (a first import, then the
same file again), unless --once. --url imports into that database instead (it must be empty:
it is created, not cleared; one size only). With --json the last line printed is the last
first import's figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.db import make_engine
from core.importing import import_file
from core.roles import SYSTEM
from core.schema import metadata

NOW = datetime(2026, 6, 15, tzinfo=UTC)


def make_log(path: Path, rows: int, seed: int = 7) -> None:
    """A purchase log: about one customer per ten rows, two years of dates."""
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, max(rows // 10, 1), rows)
    days = pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 730, rows), unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(customers).map("c{:07d}".format),
            "date": days.strftime("%Y-%m-%d"),
            "amount": rng.gamma(2.0, 18.0, rows).round(2),
            "quantity": rng.integers(1, 5, rows),
        }
    )
    frame.to_csv(path, index=False)


def run(rows: int, folder: Path, *, url: str = "", once: bool = False) -> dict:
    path = folder / f"log_{rows}.csv"
    make_log(path, rows)
    engine = make_engine(url or f"sqlite:///{folder / f'bench_{rows}.db'}")
    metadata.create_all(engine)
    figures = {}
    for label in ("first import",) if once else ("first import", "re-import"):
        started = time.perf_counter()
        result = import_file(engine, kind="transactions", path=path, actor=SYSTEM, now=NOW)
        seconds = time.perf_counter() - started
        print(
            f"{rows:>9,} rows, {label:<12}: {seconds:7.1f} s ({rows / seconds:,.0f} rows/s); "
            f"{result.inserted:,} new, {result.updated:,} updated, "
            f"{result.customers_created:,} customers created"
        )
        figures.setdefault("seconds", round(seconds, 2))
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory so far: {peak_mb:,.0f} MB")
    return {"stage": "import", "rows": rows, **figures, "peak_mb": round(peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--once", action="store_true", help="skip the re-import")
    parser.add_argument("--url", default="", help="an empty database to import into")
    parser.add_argument("--json", action="store_true", help="end with the figures as JSON")
    args = parser.parse_args()
    if args.url and len(args.rows) > 1:
        parser.error("--url takes one size")
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            figures = run(rows, Path(folder), url=args.url, once=args.once)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
