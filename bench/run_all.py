"""Run every benchmark stage at one size and write its rows into bench/RESULTS.md.

    python bench/run_all.py --size 10k|100k|1m [--db sqlite|postgresql] [--url URL]
                            [--scratch DIR] [--keep] [--stages NAME ...]

`make bench SIZE=... DB=...` calls this. Each stage runs its bench/ script in a subprocess
(so its peak memory is its own) on one scratch database that the demo stage builds and the
later stages reuse; the import stage loads a generated order file of ten lines per customer
into a second, empty database. The scaled stages: approval and dispatch of a campaign of one
offer per ten customers (100k offers at 1m), audit verification over one event per customer
(1M at 1m). SQLite files live in --scratch (default /tmp/easel-bench/SIZE-sqlite); those the
run made (by its demo or import stage) are deleted at the end unless --keep. With --db
postgresql, --url (or BENCH_DATABASE_URL) names a database that is dropped and created again
(and one named after it with `_import`): never point it at a database you want to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402


def fresh_database(url: str) -> None:
    """An empty database at `url`: a deleted SQLite file, or a PostgreSQL database made again."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        remove_sqlite(url)
        return
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    server.dispose()


def remove_sqlite(url: str) -> None:
    """Delete a SQLite database file and its WAL files."""
    path = make_url(url).database
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def postgresql_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    return str(version)


def run_stage(command: list[str]) -> tuple[dict, float]:
    """Run one stage script; its last printed line (JSON) and the process tree's peak memory in MB."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        print("    " + line.rstrip(), flush=True)
        lines.append(line)
    # wait4 gives this child's own resource use, its waited-for children included.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return json.loads(lines[-1]), usage.ru_maxrss / 1024


def stages(size: str, url: str, import_url: str) -> dict[str, list[str]]:
    """The command of each stage, scaled to `size`."""
    customers = results.size_customers(size)
    scoring = ["bench/bench_scoring.py", "--url", url, "--nthread", "2", "--seed", "1"]
    return {
        "demo generation": ["bench/bench_demo.py", "--customers", str(customers), "--url", url, "--json"],
        "import": ["bench/bench_import.py", "--rows", str(10 * customers), "--once", "--url", import_url, "--json"],
        "feature building": [*scoring, "--phase", "features"],
        "training": [*scoring, "--phase", "train"],
        "scoring": [*scoring, "--phase", "score"],
        "proposals": ["bench/bench_proposals.py", "--child", "propose", "--url", url, "--once"],
        "console pages": ["bench/bench_pages.py", "--customers", str(customers), "--url", url, "--repeat", "3", "--json"],
        "campaign approval": ["bench/bench_approval.py", "--offers", str(customers // 10), "--url", url],
        "dispatch": ["bench/bench_dispatch.py", "--offers", str(customers // 10), "--url", url],
        "audit verification": ["bench/bench_audit.py", "--events", str(customers), "--url", url],
    }  # fmt: skip


def rows_of(
    stage: str, out: dict, customers: int
) -> list[tuple[str, float, float | None, int | None]]:
    """(stage, seconds, the stage's own peak MB if it reported one, rows) from a script's JSON."""
    if stage == "feature building":
        return [(stage, out["features_s"], out["features_peak_mib"], out["features_rows"])]
    if stage == "training":
        return [
            (stage, out["train_read_s"] + out["train_s"], out["train_peak_mib"], out["train_rows"])
        ]
    if stage == "scoring":
        return [(stage, out["score_total_s"], out["score_peak_mib"], out["customers_scored"])]
    if stage == "proposals":
        return [(stage, out["runs"][0]["seconds"], out["peak_rss_mb"], customers)]
    if stage == "console pages":
        return [
            ("console pages: slowest", out["slowest_ms"] / 1000, out["peak_mb"], None),
            ("console pages: total", out["total_ms"] / 1000, out["peak_mb"], out["functions"]),
        ]
    return [(stage, out["seconds"], out.get("peak_mb"), out["rows"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", choices=list(results.SIZES))
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--stages", nargs="+", default=None, help="only these stages")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    scratch = args.scratch or Path("/tmp/easel-bench") / f"{args.size}-{args.db}"
    if scratch.resolve().is_relative_to((ROOT / "data").resolve()):
        parser.error("the scratch folder must not be inside data/")
    scratch.mkdir(parents=True, exist_ok=True)
    if args.db == "postgresql":
        if not args.url.startswith("postgresql"):
            parser.error(
                "--db postgresql needs --url or BENCH_DATABASE_URL (postgresql+psycopg://...)"
            )
        url = args.url
        import_url = (
            make_url(url)
            .set(database=f"{make_url(url).database}_import")
            .render_as_string(hide_password=False)
        )
    else:
        url, import_url = f"sqlite:///{scratch / 'easel.db'}", f"sqlite:///{scratch / 'import.db'}"
    commands = stages(args.size, url, import_url)
    chosen = args.stages or list(commands)
    unknown = set(chosen) - set(commands)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; choose from {list(commands)}")
    # Read before this run drops and makes databases, which keeps the server busy for a while.
    load = os.getloadavg()[0]
    cpu_check = results.cpu_check_seconds()
    if "demo generation" in chosen:
        fresh_database(url)
    if "import" in chosen:
        fresh_database(import_url)
    day = datetime.now(UTC).date().isoformat()
    customers = results.size_customers(args.size)
    figures = []
    try:
        for stage in chosen:
            print(f"== {stage} ({args.size}, {args.db})", flush=True)
            out, tree_peak = run_stage([sys.executable, *commands[stage]])
            for name, seconds, peak, rows in rows_of(stage, out, customers):
                figures.append(
                    results.figure_row(
                        name,
                        args.size,
                        args.db,
                        seconds=seconds,
                        peak_mb=peak or tree_peak,
                        rows=rows,
                        day=day,
                        # The console pages' rows count functions, not data.
                        per_second=not name.startswith("console pages"),
                    )
                )
    finally:
        if not args.keep and args.db == "sqlite":
            # Only the databases this run made: a run of later stages on a kept database
            # (--stages without the demo) must not delete it.
            made = {"demo generation": url, "import": import_url}
            for stage, made_url in made.items():
                if stage in chosen:
                    remove_sqlite(made_url)
    pg = postgresql_version(url) if args.db == "postgresql" else "not used"
    machine = results.machine_info(
        args.size, args.db, day, load=load, cpu_check=cpu_check, postgresql=pg
    )
    existing = args.results.read_text() if args.results.exists() else ""
    args.results.write_text(results.merge(existing, figures, machine))
    print(f"\n{len(figures)} rows written to {args.results}")
    for row in figures:
        print(
            f"  {row['stage']:<24} {row['seconds']:>9} s  {row['peak memory MB']:>7} MB  {row['rows/s']:>10} rows/s"
        )


if __name__ == "__main__":
    main()
