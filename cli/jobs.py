"""Commands for the background jobs: list them with their last run, run one now."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from tqdm import tqdm

from cli import context
from core import jobruns
from core.db import session_scope
from core.errors import EaselError
from jobs import registry

jobs_app = typer.Typer(
    help="List the background jobs and run one now (each is also run by `easel scheduler`).",
    no_args_is_help=True,
)

EXIT_FAILED = 1
EXIT_BUSY = 2


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


def parse_slot(value: str | None, *, now: datetime) -> datetime:
    """The slot a run stands for: an ISO date or datetime (UTC unless it says otherwise)."""
    if value is None:
        return now.replace(microsecond=0)
    try:
        slot = datetime.fromisoformat(value)
    except ValueError:
        context.fail(f"--slot must be a date or time like 2026-06-15T02:00, not {value!r}.")
        raise
    return slot.replace(tzinfo=UTC) if slot.tzinfo is None else slot.astimezone(UTC)


@jobs_app.command("list")
def list_jobs() -> None:
    """Every job with its cadence and its last run."""
    with session_scope(context.engine()) as session:
        last = jobruns.last_run_by_job(session)
    for job in registry.JOBS:
        run = last.get(job.name)
        state = "never run"
        if run is not None:
            state = f"{run.status} for {run.scheduled_for:%Y-%m-%d %H:%M} ({run.rows} rows)"
        typer.echo(f"{job.name:<18} {job.cadence:<20} {state}")
        typer.echo(f"{'':<18} {job.description}")


@jobs_app.command("run")
def run_job(
    name: str = typer.Argument(..., help="The job's name, as `easel jobs list` shows it."),
    slot: str = typer.Option(
        None,
        "--slot",
        help="The scheduled time this run stands for (e.g. 2026-06-15T02:00, UTC); a slot "
        "that already ran is not run again. Default: now.",
    ),
    as_user: str = typer.Option(None, "--as", help="The admin who starts it (default: system)."),
) -> None:
    """Run one job now, with a progress bar; exit 1 if it failed, 2 if it is running elsewhere."""
    engine = context.engine()
    slot_time = parse_slot(slot, now=context.now())
    actor = context.actor(as_user)
    with tqdm(total=100, desc=name, unit="%", leave=True) as bar:

        def show(fraction: float, message: str | None) -> None:
            bar.update(round(fraction * 100) - bar.n)
            if message:
                bar.set_postfix_str(message)

        try:
            outcome = registry.run(
                engine, name, slot=slot_time, actor=actor, clock=context.now, on_progress=show
            )
        except EaselError as error:
            context.fail(str(error))
            raise
    if outcome.status == "failed":
        context.fail(outcome.describe(), code=EXIT_FAILED)
    if outcome.status == "busy":
        context.fail(outcome.describe(), code=EXIT_BUSY)
    typer.echo(outcome.describe())
