"""Job: send the approved offers whose day has come, through the configured channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import dispatch, jobruns
from core.config import Settings
from core.errors import EaselError
from core.job_runner import JobContext


class DeliveryIncomplete(EaselError):
    """The channel refused or did not confirm some offers; the run fails and a rerun retries."""


def run(context: JobContext) -> int:
    """Re-check and send due offers; rows are the offers sent, expired or suppressed.

    When the channel refused or did not confirm an offer the run fails, so that the jobs page
    shows it, and its writes roll back; the send ledger (core.sends) keeps what did go out,
    so the next run marks those offers sent without sending them again and retries the rest.
    """
    settings = Settings()
    summary = dispatch.dispatch(
        session=context.session,
        engine=context.engine,
        channel=dispatch.channel_from_settings(settings, now=context.now),
        actor=context.actor,
        now=context.now,
        clock=lambda: datetime.now(UTC),
        max_age=timedelta(hours=settings.approval_max_age_hours),
        material_change=settings.material_stock_change,
        progress=context.progress,
    )
    if not summary.complete:
        raise DeliveryIncomplete(
            f"Not every offer was delivered: {summary.describe()}. "
            f"The first problem: {summary.first_problem}"
        )
    context.progress(1.0, summary.describe())
    # In the job's own transaction too, so that the run's note says what happened on SQLite,
    # where progress is not written while the job runs.
    jobruns.set_progress(
        context.session.connection(),
        run_id=context.run_id,
        progress=1.0,
        message=summary.describe(),
    )
    return summary.changes
