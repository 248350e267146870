"""bench/results.py: merging a run's rows into bench/RESULTS.md keeps the other sizes' rows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import results


def _machine(size: str, database: str = "sqlite") -> dict:
    return {name: "x" for name in results.MACHINES} | {"size": size, "database": database}


def _row(stage: str, size: str, seconds: float, database: str = "sqlite") -> dict:
    return results.figure_row(
        stage, size, database, seconds=seconds, peak_mb=100, rows=1000, day="2026-11-26"
    )


def test_a_run_of_another_size_is_added_beside_the_earlier_rows():
    first = results.merge("", [_row("scoring", "100k", 20.0)], _machine("100k"))
    both = results.merge(first, [_row("scoring", "10k", 2.0)], _machine("10k"))
    rows = results.parse_table(both, "Figures")
    assert [(r["stage"], r["size"], r["seconds"]) for r in rows] == [
        ("scoring", "10k", "2.0"),
        ("scoring", "100k", "20.0"),
    ]
    assert [m["size"] for m in results.parse_table(both, "Machines")] == ["10k", "100k"]


def test_a_rerun_replaces_only_the_rows_of_its_stages_size_and_database():
    text = results.merge(
        "", [_row("scoring", "10k", 2.0), _row("import", "10k", 1.0)], _machine("10k")
    )
    text = results.merge(
        text, [_row("scoring", "10k", 9.0, "postgresql")], _machine("10k", "postgresql")
    )
    text = results.merge(text, [_row("scoring", "10k", 3.0)], _machine("10k"))
    rows = results.parse_table(text, "Figures")
    # The SQLite scoring row is replaced; its import row and the PostgreSQL row stay.
    assert [(r["stage"], r["database"], r["seconds"]) for r in rows] == [
        ("import", "sqlite", "1.0"),
        ("scoring", "postgresql", "9.0"),
        ("scoring", "sqlite", "3.0"),
    ]
    assert len(results.parse_table(text, "Machines")) == 2


def test_rows_follow_the_stages_order_then_size():
    figures = [_row(stage, "1m", 1.0) for stage in reversed(results.STAGES)]
    text = results.merge("", figures, _machine("1m"))
    assert [r["stage"] for r in results.parse_table(text, "Figures")] == results.STAGES


def test_rows_per_second_only_where_rows_were_counted():
    counted = results.figure_row(
        "import", "10k", "sqlite", seconds=2.0, peak_mb=5, rows=100_000, day="d"
    )
    uncounted = results.figure_row(
        "console pages: slowest", "10k", "sqlite", seconds=0.05, peak_mb=None, rows=None, day="d"
    )
    assert counted["rows/s"] == "50,000"
    assert (uncounted["rows/s"], uncounted["rows"], uncounted["peak memory MB"]) == ("—", "—", "—")
    functions = results.figure_row(
        "console pages: total",
        "10k",
        "sqlite",
        seconds=1.0,
        peak_mb=5,
        rows=34,
        day="d",
        per_second=False,
    )
    assert (functions["rows"], functions["rows/s"]) == ("34", "—")


def test_sizes_are_named_and_an_unknown_one_is_refused():
    assert results.size_customers("1M") == 1_000_000
    with pytest.raises(ValueError, match="choose one of 10k, 100k, 1m"):
        results.size_customers("2m")


OLD_RESULTS = """## Figures

| stage | size | database | seconds | peak memory MB | rows | rows/s | date |
|---|---|---|---|---|---|---|---|
| scoring | 10k | sqlite | 2.0 | 100 | 1,000 | 500 | 2026-11-20 |

## Machines

| size | database | date | load | CPU | cores | RAM GiB | OS | Python | SQLite | PostgreSQL |
|---|---|---|---|---|---|---|---|---|---|---|
| 10k | sqlite | 2026-11-20 | 0.5 | AMD EPYC | 2 | 23.5 | Debian | 3.11.7 | 3.40.1 | not used |
"""


def test_machines_written_before_the_cpu_check_keep_their_rows_with_it_blank():
    machine = results.machine_info("1m", "sqlite", "2026-11-27", load=0.4, cpu_check=1.234)
    text = results.merge(OLD_RESULTS, [_row("scoring", "1m", 90.0)], machine)
    machines = {m["size"]: m for m in results.parse_table(text, "Machines")}
    assert (machines["1m"]["CPU check s"], machines["1m"]["load"]) == ("1.23", "0.4")
    assert (machines["10k"]["CPU check s"], machines["10k"]["CPU"]) == ("", "AMD EPYC")
    assert [r["size"] for r in results.parse_table(text, "Figures")] == ["10k", "1m"]
