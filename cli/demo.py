"""`easel demo`: fill the database with a synthetic art-and-craft marketplace and demo logins."""

from __future__ import annotations

import os
from datetime import date, datetime

import typer
from tqdm import tqdm

from cli import context
from core import demo as demo_data
from core import summaries
from core.db import session_scope

LOGINS_FILE = "demo-logins.txt"


def demo(
    customers: int = typer.Option(
        10_000, "--customers", min=1, help="How many customers to create."
    ),
    seed: int = typer.Option(
        42, "--seed", help="The random seed: the same seed gives the same data."
    ),
    end_date: datetime = typer.Option(
        None, "--end-date", formats=["%Y-%m-%d"], help="The last day of history (default: today)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Clear existing marketplace data, scores and job runs first."
    ),
) -> None:
    """Generate a demo marketplace (two years of orders) and one login per role."""
    engine = context.engine()
    now = context.now()
    last_day: date = end_date.date() if end_date else now.date()
    if demo_data.has_customers(engine):
        if not replace:
            context.fail(
                "The database already holds customers; run again with --replace to clear the "
                "marketplace data (the audit trail and users are kept)."
            )
        demo_data.clear_marketplace(engine, now=now)
        typer.echo("Cleared the existing marketplace data.")
    typer.echo(f"Generating {customers:,} customers (seed {seed}, up to {last_day})...")
    frames = demo_data.generate(customers=customers, seed=seed, end_date=last_day)
    bars: dict[str, tqdm] = {}

    def progress(table: str, rows: int, total: int) -> None:
        bar = bars.get(table)
        if bar is None:
            bar = bars[table] = tqdm(total=total, desc=f"{table:<17}", unit="rows", disable=None)
        bar.update(rows)
        if bar.n >= total:
            bar.close()

    written = demo_data.write(engine, frames, progress, now=now)
    for bar in bars.values():
        bar.close()
    typer.echo(
        f"Wrote {sum(written.values()):,} rows: "
        + ", ".join(f"{k} {v:,}" for k, v in written.items())
    )
    state = summaries.refresh_now(engine, now=now)
    typer.echo(f"Console summaries refreshed (orders through {state.data_through}).")
    with session_scope(engine) as session:
        logins = demo_data.create_demo_users(session, now=now)
    _show_logins(logins)


def _read_logins(path) -> dict[str, str]:
    """Logins kept from an earlier run (users created then still have those passwords)."""
    if not path.exists():
        return {}
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:]]
    return {row[0]: row[1] for row in rows if len(row) == 2}


def _show_logins(logins: dict[str, str]) -> None:
    if not logins:
        typer.echo("Demo users already exist; their passwords are unchanged.")
        return
    path = context.settings().data_dir / LOGINS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = _read_logins(path)
    kept.update(logins)
    text = "".join(f"{name}\t{password}\n" for name, password in kept.items())
    # Create it readable by the owner only before any secret is written.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("user\tpassword\n" + text)
    path.chmod(0o600)
    typer.echo("Demo logins (shown once; also kept in " + str(path) + "):")
    for name, password in logins.items():
        typer.echo(f"  {name:<8} {password}")
