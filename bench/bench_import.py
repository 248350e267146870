"""Time importing a generated transactions log (100k and 1M rows) into a fresh SQLite database."""

from __future__ import annotations

import argparse
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


def run(rows: int, folder: Path) -> None:
    path = folder / f"log_{rows}.csv"
    make_log(path, rows)
    engine = make_engine(f"sqlite:///{folder / f'bench_{rows}.db'}")
    metadata.create_all(engine)
    for label in ("first import", "re-import"):
        started = time.perf_counter()
        result = import_file(engine, kind="transactions", path=path, actor=SYSTEM, now=NOW)
        seconds = time.perf_counter() - started
        print(
            f"{rows:>9,} rows, {label:<12}: {seconds:7.1f} s ({rows / seconds:,.0f} rows/s); "
            f"{result.inserted:,} new, {result.updated:,} updated, "
            f"{result.customers_created:,} customers created"
        )
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory so far: {peak_mb:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            run(rows, Path(folder))


if __name__ == "__main__":
    main()
