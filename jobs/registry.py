"""Every background job by name: its module-level run function and its cadence.

A job is a module-level function `run(context: core.job_runner.JobContext) -> int` (rows
affected) that does all its writes through `context.session`. The cadence is either
`every <n><s|m|h|d>` (aligned to whole multiples since 2000-01-01 UTC, so every process
computes the same slots) or `cron <minute> <hour> <day> <month> <day-of-week>` in UTC.
`EASEL_SCHEDULE="name=cadence; name=cadence"` overrides cadences (see with_schedule).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine

from core.errors import InvalidInput, NotFound
from core.job_runner import JobFunction, ProgressCallback, RunOutcome, run_job
from core.roles import Actor
from jobs import (
    bandit_update,
    dispatch,
    inventory_watch,
    outcomes,
    pause_expiry,
    proposals,
    scoring,
    summaries,
)

_EVERY = re.compile(r"^every\s+(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Job:
    """A background job: its name, what it runs, how often, and what it is for."""

    name: str
    run: JobFunction
    cadence: str
    description: str
    # False only for jobs that commit a side ledger while they run (see core.job_runner).
    hold_write_lock: bool = True


# Times are UTC. Outcomes run after the day's orders are in, the bandit update after them.
JOBS: tuple[Job, ...] = (
    Job(
        "nightly_scoring",
        scoring.run,
        "cron 0 2 * * *",
        "Score every customer's churn risk and value; retrain when the model is a week old.",
        # Scoring writes through its own transactions (model version, then the day's scores).
        hold_write_lock=False,
    ),
    Job(
        "weekly_proposals",
        proposals.run,
        "cron 0 5 * * 1",
        "Propose next week's campaigns and offers, checked against stock, pauses and budget.",
    ),
    Job(
        "inventory_watch",
        inventory_watch.run,
        "every 1h",
        "Pause open offers on SKUs or suppliers that turned bad; lift them when they recover.",
    ),
    Job(
        "dispatch",
        dispatch.run,
        "every 15m",
        "Send approved offers whose day has come, re-checked at send time; never twice.",
        hold_write_lock=False,
    ),
    Job(
        "outcomes",
        outcomes.run,
        "cron 0 3 * * *",
        "Link orders to sent offers and holdout offers within the attribution window.",
    ),
    Job(
        "bandit_update",
        bandit_update.run,
        "cron 30 3 * * *",
        "Refit the campaign choice from the recorded outcomes and their logged propensities.",
    ),
    Job(
        "console_summaries",
        summaries.run,
        "cron 45 3 * * *",
        "Rebuild the order and SKU summaries the overview and inventory pages read.",
    ),
    Job(
        "pause_expiry",
        pause_expiry.run,
        "every 15m",
        "End pauses whose end date has passed (audited as the system).",
    ),
)


def parse_cadence(cadence: str) -> tuple[str, dict | str]:
    """("interval", {"minutes": 15}) or ("cron", "0 2 * * 1"); InvalidInput otherwise."""
    text = " ".join(cadence.strip().lower().split())
    match = _EVERY.match(text)
    if match:
        amount = int(match.group(1))
        if amount <= 0:
            raise InvalidInput(f"Cadence {cadence!r} must repeat after more than zero time.")
        return "interval", {_UNITS[match.group(2)]: amount}
    if text.startswith("cron "):
        fields = text[5:].split()
        if len(fields) == 5:
            return "cron", " ".join(fields)
    raise InvalidInput(
        f"Cadence {cadence!r} is not understood; write e.g. 'every 15m' or 'cron 0 2 * * 1'."
    )


def parse_schedule(text: str) -> dict[str, str]:
    """'scoring=cron 0 2 * * 1; pause_expiry=every 5m' -> {name: cadence}, checked."""
    overrides: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        name, sep, cadence = part.partition("=")
        if not sep:
            raise InvalidInput(f"Schedule entry {part!r} needs the form name=cadence.")
        parse_cadence(cadence)
        overrides[name.strip()] = cadence.strip()
    return overrides


def with_schedule(jobs: tuple[Job, ...], overrides: dict[str, str]) -> tuple[Job, ...]:
    """The jobs with their cadences overridden; an unknown name is an error, not a no-op."""
    names = {job.name for job in jobs}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise InvalidInput(f"Unknown job(s) in the schedule: {', '.join(unknown)}.")
    return tuple(replace(job, cadence=overrides.get(job.name, job.cadence)) for job in jobs)


def get(name: str, jobs: tuple[Job, ...] = JOBS) -> Job:
    for job in jobs:
        if job.name == name:
            return job
    known = ", ".join(job.name for job in jobs)
    raise NotFound(f"There is no job {name!r}; the jobs are: {known}.")


def run(
    engine: Engine,
    name: str,
    *,
    slot: datetime,
    actor: Actor,
    clock: Callable[[], datetime],
    on_progress: ProgressCallback | None = None,
    jobs: tuple[Job, ...] = JOBS,
) -> RunOutcome:
    """Run the named job for a slot through the job runner (checks the actor may run jobs)."""
    job = get(name, jobs)
    return run_job(
        engine,
        job=job.name,
        func=job.run,
        slot=slot,
        actor=actor,
        clock=clock,
        on_progress=on_progress,
        hold_write_lock=job.hold_write_lock,
    )
