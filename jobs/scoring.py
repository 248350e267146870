"""Job: score every customer nightly; train a new model when the active one is old enough."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from core import model_store, scoring
from core.config import Settings
from core.job_runner import JobContext

STEPS = 6


def due_for_retraining(created_at: datetime | None, *, now: datetime, every_days: int) -> bool:
    """Whether the active model (created then; None when there is none) should be replaced."""
    return created_at is None or now - created_at >= timedelta(days=every_days)


def run(context: JobContext) -> int:
    """Score as of the slot's day (the scores of that day are replaced, in one transaction)."""
    settings = Settings()
    # Read on a connection of its own: scoring writes through its own transactions, and on
    # SQLite a read held open in the job's session could not be turned into a write later.
    with Session(context.engine) as session:
        version = model_store.active_version(session)
        created_at = version.created_at if version is not None else None
    retrain = due_for_retraining(
        created_at, now=context.now, every_days=settings.retrain_every_days
    )
    done = [0]

    def step(message: str) -> None:
        done[0] += 1
        context.progress(min(done[0] / STEPS, 0.95), message)

    summary = scoring.score_customers(
        context.engine,
        actor=context.actor,
        as_of=context.slot.date(),
        now=context.now,
        retrain=retrain,
        progress=step,
    )
    trained = " after training a new model" if summary.trained else ""
    context.progress(1.0, f"{summary.customers} customers scored{trained}")
    return summary.customers
