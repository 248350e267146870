"""bench/RESULTS.md: one table of figures per stage, size and database, and the machines they ran on.

`merge` keeps the rows already in the file and replaces only those of the same stage, size and
database as the run being written, so that 10k, 100k and 1m can sit side by side, and so that
rerunning one stage replaces only its row.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd

STAGES = [
    "demo generation",
    "import",
    "feature building",
    "training",
    "scoring",
    "proposals",
    "console pages: slowest",
    "console pages: total",
    "campaign approval",
    "dispatch",
    "audit verification",
]
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
FIGURES = ["stage", "size", "database", "seconds", "peak memory MB", "rows", "rows/s", "date"]
MACHINES = [
    "size",
    "database",
    "date",
    "load",
    "CPU check s",
    "CPU",
    "cores",
    "RAM GiB",
    "OS",
    "Python",
    "SQLite",
    "PostgreSQL",
]
HEADER = """# Benchmark results

Written by `make bench SIZE=10k|100k|1m [DB=sqlite|postgresql]` (bench/run_all.py): each stage
in its own process on a scratch database; a run replaces the rows of its own stages, size and
database and keeps the rest; each row carries the date it was measured. Seconds are
the timed part of each stage only (not its setup); peak memory is the stage process's peak
resident memory; `load` is the machine's 1-minute load average when the run began (on
2 cores, above 1 means others' work shared the machine); `CPU check s` is how long the same
fixed piece of work (a Python loop, a sort, counting text ids) took when the run began:
machines that report the same CPU name can differ twofold, and this tells apart those whose
CPUs differ (not those whose memory is slow to touch for the first time); `rows` is what the
stage handled (see "How big can it get" in the README); "console pages" gives the
slowest data function's median and the sum of all their medians.
"""


def size_customers(size: str) -> int:
    """Customers for a size label such as 10k, 100k or 1m."""
    try:
        return SIZES[size.lower()]
    except KeyError:
        raise ValueError(f"Unknown size {size!r}; choose one of {', '.join(SIZES)}.") from None


def parse_table(text: str, heading: str) -> list[dict[str, str]]:
    """The rows of the markdown table under `## heading`, as dicts by column name."""
    rows: list[dict[str, str]] = []
    inside, columns = False, None
    for line in text.splitlines():
        if line.startswith("## "):
            inside, columns = line[3:].strip() == heading, None
            continue
        if not inside or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if columns is None:
            columns = cells
        elif not set(line) <= set("|-: "):
            rows.append(dict(zip(columns, cells, strict=False)))
    return rows


def _table(columns: list[str], rows: list[dict]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return lines


def _order(row: dict) -> tuple:
    stage = row["stage"]
    return (
        STAGES.index(stage) if stage in STAGES else len(STAGES),
        stage,
        SIZES.get(row["size"], 0),
        row["database"],
    )


def merge(text: str, figures: list[dict], machine: dict) -> str:
    """The file's text with this run's rows in place of earlier ones of the same stage, size and database."""
    new = {(row["stage"], row["size"], row["database"]) for row in figures}
    kept = [
        r for r in parse_table(text, "Figures") if (r["stage"], r["size"], r["database"]) not in new
    ]
    rows = sorted(kept + [{k: str(v) for k, v in row.items()} for row in figures], key=_order)
    run = (machine["size"], machine["database"])
    machines = [m for m in parse_table(text, "Machines") if (m["size"], m["database"]) != run]
    machines = sorted([*machines, machine], key=lambda m: (SIZES.get(m["size"], 0), m["database"]))
    lines = [HEADER, "## Figures", "", *_table(FIGURES, rows), "", "## Machines", ""]
    return "\n".join(lines + _table(MACHINES, machines)) + "\n"


def figure_row(
    stage: str,
    size: str,
    database: str,
    *,
    seconds: float,
    peak_mb,
    rows,
    day: str,
    per_second: bool = True,
) -> dict:
    """One row of the table; rows/s only where rows were counted and a rate means something."""
    rate = f"{rows / seconds:,.0f}" if per_second and rows and seconds > 0 else "—"
    return {
        "stage": stage,
        "size": size,
        "database": database,
        "seconds": f"{seconds:.3f}" if seconds < 1 else f"{seconds:.1f}",
        "peak memory MB": "—" if peak_mb is None else f"{peak_mb:,.0f}",
        "rows": "—" if rows is None else f"{rows:,}",
        "rows/s": rate,
        "date": day,
    }


def _read(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return ""


def cpu_check_seconds() -> float:
    """Seconds for a fixed piece of work of the kinds the stages do: a Python loop, a sort of
    floats, and counting text ids. The best of three, so that a moment's noise counts less."""
    rng = np.random.default_rng(0)
    floats = rng.random(5_000_000)
    ids = pd.Series(rng.integers(0, 200_000, 1_000_000)).map("C{:07d}".format)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        np.sort(floats)
        ids.value_counts()
        best = min(best, time.perf_counter() - start)
    return best


def machine_info(
    size: str,
    database: str,
    day: str,
    *,
    load: float,
    cpu_check: float,
    postgresql: str = "not used",
) -> dict:
    """What the run ran on: the load and CPU check when it began, CPU model, cores, RAM, OS,
    Python and database versions."""
    memory = _read("/proc/meminfo", "MemTotal")
    ram = f"{int(memory.split()[0]) / 1024**2:.1f}" if memory else "?"
    os_name = _read("/etc/os-release", "PRETTY_NAME=").strip('"') or platform.system()
    return {
        "size": size,
        "database": database,
        "date": day,
        "load": f"{load:.1f}",
        "CPU check s": f"{cpu_check:.2f}",
        "CPU": _read("/proc/cpuinfo", "model name") or platform.processor() or "?",
        "cores": str(os.cpu_count()),
        "RAM GiB": ram,
        "OS": f"{os_name} ({platform.release()})",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgresql,
    }
