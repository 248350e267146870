"""Accuracy, time and memory of churn training and scoring on the demo marketplace.

    python bench/bench_scoring.py --customers 100000 [1000000] [--nthread 2] [--keep DIR]
    python bench/bench_scoring.py --score-only DB.sqlite   # scoring only, on a kept database

Per size, three processes against one scratch SQLite file (so each peak memory is its own):
load the demo (not part of the figures), train (features for every snapshot, XGBoost with
early stopping, the four baselines) and score (read, features, predict, reasons for the
medium and high risk, write). Prints the model's AUC, PR-AUC and Brier score next to every
baseline on the out-of-time test snapshot (and validation), then the timings.
bench/run_all.py runs the phases one by one on its database, each printing one JSON line:
`--phase features|train|score --url URL` (features: reading and building every customer's
features at the as-of date, as scoring does).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 6, 15)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load(url: str, customers: int, seed: int) -> dict:
    from core import demo, schema
    from core.db import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    start = time.perf_counter()
    rows = demo.write(engine, demo.generate(customers=customers, seed=seed, end_date=AS_OF))
    return {"load_s": round(time.perf_counter() - start, 1), "orders": rows.get("orders", 0)}


def features(url: str) -> dict:
    """Read the frames and build every customer's features at AS_OF (as scoring does)."""
    from core.db import make_engine
    from core.features import build_features, load_frames

    engine = make_engine(url)
    start = time.perf_counter()
    frames = load_frames(engine, AS_OF)
    read = time.perf_counter()
    built = build_features(frames, AS_OF)
    end = time.perf_counter()
    return {
        "features_read_s": round(read - start, 2),
        "features_build_s": round(end - read, 2),
        "features_s": round(end - start, 2),
        "features_rows": len(built),
        "features_peak_mib": round(_peak_mib()),
    }


def train(url: str, nthread: int, seed: int) -> dict:
    from core import model_store
    from core.db import make_engine, session_scope
    from core.features import load_frames
    from core.roles import SYSTEM
    from core.training import train as fit

    engine = make_engine(url)
    start = time.perf_counter()
    frames = load_frames(engine, AS_OF)
    read = time.perf_counter()
    result = fit(frames, as_of=AS_OF, seed=seed, nthread=nthread)
    trained = time.perf_counter()
    with session_scope(engine) as session:
        model_store.save_version(
            session, actor=SYSTEM, result=result, as_of=AS_OF, now=datetime.now(UTC)
        )
    return {
        "train_read_s": round(read - start, 1),
        "train_s": round(trained - read, 1),
        "train_rows": result.window["train_rows"],
        "train_peak_mib": round(_peak_mib()),
        "metrics": {k: result.metrics[k] for k in ("validation", "test", "calibration_check")},
        "beats_baselines_validation": result.beats_baselines,
    }


def score(url: str, nthread: int, seed: int) -> dict:
    from core import scoring
    from core.db import make_engine
    from core.roles import SYSTEM

    engine = make_engine(url)
    marks: list[tuple[str, float, float]] = []
    start = time.perf_counter()
    summary = scoring.score_customers(
        engine,
        actor=SYSTEM,
        as_of=AS_OF,
        now=datetime.now(UTC),
        seed=seed,
        progress=lambda step: marks.append((step, time.perf_counter(), _cpu_s())),
    )
    end = time.perf_counter()
    marks.append(("end", end, _cpu_s()))
    spans = range(len(marks) - 1)
    steps = {marks[i][0]: round(marks[i + 1][1] - marks[i][1], 1) for i in spans}
    # CPU seconds of this process: on a shared machine the wall time also counts others' work.
    cpu = {marks[i][0]: round(marks[i + 1][2] - marks[i][2], 1) for i in spans}
    return {
        "score_total_s": round(end - start, 1),
        "score_steps_s": steps,
        "score_steps_cpu_s": cpu,
        "score_peak_mib": round(_peak_mib()),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "customers_scored": summary.customers,
        "bands": summary.by_band,
    }


def _child(phase: str, args: list[str]) -> dict:
    command = [sys.executable, __file__, "--phase", phase, *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def _table(metrics: dict, split: str) -> str:
    lines = [f"{split:<12} {'AUC':>7} {'PR-AUC':>7} {'Brier':>7}"]
    for name, figures in metrics[split].items():
        label = "model" if name == "model" else name
        lines.append(
            f"  {label:<10} {figures['auc']:>7.4f} {figures['pr_auc']:>7.4f} {figures['brier']:>7.4f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--nthread", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Keep the scratch databases in this folder.")
    parser.add_argument(
        "--score-only",
        type=Path,
        metavar="DB",
        help="Only run the scoring process against this kept SQLite database (with a model).",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        sys.path.insert(0, str(ROOT))
        if args.phase == "load":
            figures = load(args.url, args.customers[0], args.seed)
        elif args.phase == "features":
            figures = features(args.url)
        elif args.phase == "train":
            figures = train(args.url, args.nthread, args.seed)
        else:
            figures = score(args.url, args.nthread, args.seed)
        print(json.dumps(figures))
        return
    if args.score_only:
        url = f"sqlite:///{args.score_only.resolve()}"
        common = ["--url", url, "--nthread", str(args.nthread), "--seed", str(args.seed)]
        print(json.dumps(_child("score", common), indent=1))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="easel-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    for customers in args.customers:
        url = f"sqlite:///{folder / f'scoring-{customers}.db'}"
        common = ["--url", url, "--nthread", str(args.nthread), "--seed", str(args.seed)]
        figures = _child("load", [*common, "--customers", str(customers)])
        figures |= _child("train", common)
        figures |= _child("score", common)
        metrics = figures.pop("metrics")
        print(f"\n== {customers:,} demo customers, {figures['orders']:,} orders, as of {AS_OF} ==")
        print(_table(metrics, "test"))
        print(_table(metrics, "validation"))
        print("calibration:", json.dumps(metrics["calibration_check"]))
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
