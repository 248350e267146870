"""`easel simulate`: a simulated stretch of weeks under no programme, rules, and Easel."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
import typer
from tqdm import tqdm

from cli import context
from core import simulation
from core.csv_safety import safe_frame
from core.simulation_policies import APPROVAL_REASON, RETRAIN_WEEKS

COLUMNS = {
    "churn_rate": "churn rate",
    "repeat_purchase_rate": "repeat-purchase rate",
    "orders": "orders",
    "revenue": "revenue",
    "discount_spend": "discount spend",
    "net_revenue": "net revenue",
    "offers_sent": "offers sent",
    "out_of_stock_offers": "out-of-stock offers",
    "next_year_value": "next-year value",
}


def format_table(frame: pd.DataFrame) -> str:
    """The comparison as a Markdown table, one row per policy."""
    header = "| policy | " + " | ".join(COLUMNS.values()) + " |"
    lines = [header, "|---" * (len(COLUMNS) + 1) + "|"]
    for policy, row in frame.iterrows():
        cells = []
        for key in COLUMNS:
            value = row[key]
            if key.endswith("_rate"):
                cells.append(f"{value:.1%}")
            elif key in ("revenue", "discount_spend", "net_revenue", "next_year_value"):
                cells.append(f"{value:,.0f}")
            else:
                cells.append(f"{int(value):,}")
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def simulate(
    weeks: int = typer.Option(52, "--weeks", min=1, help="How many weeks to simulate."),
    customers: int = typer.Option(5_000, "--customers", min=50, help="Demo marketplace size."),
    seed: int = typer.Option(42, "--seed", help="The same seed gives the same run."),
    policies: str = typer.Option(
        "none,rules,easel", "--policies", help="Comma-separated: none, rules, easel."
    ),
    out: Path = typer.Option(None, "--out", help="Write the weekly figures to this CSV file."),
) -> None:
    """Run the demo marketplace forward week by week under each policy and compare them.

    Works on scratch SQLite databases in a temporary directory, never on your database.
    """
    chosen = [p.strip() for p in policies.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(simulation.POLICIES))
    if unknown or not chosen:
        context.fail(
            f"Unknown policy {', '.join(unknown) or '(none given)'}; choose from "
            + ", ".join(simulation.POLICIES)
            + "."
        )
    typer.echo(
        f"Simulating {weeks} week(s) of a {customers:,}-customer demo marketplace (seed {seed}) "
        f"under: {', '.join(chosen)}. Scores weekly, retrains every {RETRAIN_WEEKS} weeks. "
        f"Auto-approval: {APPROVAL_REASON}"
    )
    started = time.perf_counter()
    bars: dict[str, tqdm] = {}

    def progress(policy: str, week: int, figures: dict) -> None:
        bar = bars.get(policy)
        if bar is None:
            bar = bars[policy] = tqdm(total=weeks, desc=f"{policy:<6}", unit="week", disable=None)
        bar.update(1)
        bar.set_postfix(
            sent=figures["offers_sent"],
            out_of_stock=figures["out_of_stock_offers"],
            active=figures["active_customers"],
        )
        if bar.n >= weeks:
            bar.close()

    with tempfile.TemporaryDirectory(prefix="easel-simulate-") as directory:
        runs = simulation.simulate(
            Path(directory),
            weeks=weeks,
            customers=customers,
            seed=seed,
            policies=chosen,
            progress=progress,
        )
        result = simulation.table(runs)
        weekly = simulation.weekly(runs)
        for run in runs.values():
            run.engine.dispose()
    for bar in bars.values():
        bar.close()
    typer.echo("")
    typer.echo(format_table(result))
    took = time.perf_counter() - started
    typer.echo(f"\n{weeks} week(s), {customers:,} customers, seed {seed}: took {took:,.0f} s.")
    if out is not None:
        safe_frame(weekly).to_csv(out, index=False)
        typer.echo(f"Weekly figures written to {out}.")
