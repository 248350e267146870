"""Time and memory of the demo generator and its database load, per number of customers.

    python bench/bench_demo.py --customers 10000 100000 [1000000] [--url DATABASE_URL] [--json]

Each size runs in its own process (so that peak memory is that size's own) against a fresh
scratch SQLite file, unless --url names a database (which must be empty: it is upgraded and
loaded, not cleared). With --json the last line printed is the last size's figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(customers: int, seed: int, url: str) -> dict:
    """Generate and write one size in this process; returns the figures."""
    sys.path.insert(0, str(ROOT))
    from core import demo, schema
    from core.db import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    start = time.perf_counter()
    frames = demo.generate(customers=customers, seed=seed, end_date=date(2026, 6, 15))
    generated = time.perf_counter()
    rss_after_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = demo.write(engine, frames)
    written = time.perf_counter()
    engine.dispose()
    return {
        "customers": customers,
        "generate_s": round(generated - start, 2),
        "write_s": round(written - generated, 2),
        "peak_rss_mb_generate": round(rss_after_generate / 1024),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", default="", help="a database URL; default: a scratch SQLite file")
    parser.add_argument("--json", action="store_true", help="end with the figures as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.customers[0], args.seed, args.url)))
        return
    for customers in args.customers:
        with tempfile.TemporaryDirectory() as scratch:
            url = args.url or f"sqlite:///{Path(scratch) / 'bench.db'}"
            command = [sys.executable, __file__, "--child", "--customers", str(customers)]
            command += ["--seed", str(args.seed), "--url", url]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        total = sum(result["rows"].values())
        print(
            f"{customers:>10,} customers: generate {result['generate_s']:>7.2f} s, "
            f"write {result['write_s']:>7.2f} s ({total / max(result['write_s'], 1e-9):,.0f} rows/s), "
            f"peak memory {result['peak_rss_mb']:,} MB (after generating {result['peak_rss_mb_generate']:,} MB)"
        )
        print("    " + ", ".join(f"{name} {count:,}" for name, count in result["rows"].items()))
    if args.json:
        seconds = result["generate_s"] + result["write_s"]
        figures = {"stage": "demo generation", "seconds": round(seconds, 2), "rows": total}
        print(json.dumps(figures | {"peak_mb": result["peak_rss_mb"], "detail": result}))


if __name__ == "__main__":
    main()
