"""Job: rebuild the console summaries after the night's scoring and outcomes."""

from __future__ import annotations

from core import summaries
from core.job_runner import JobContext


def run(context: JobContext) -> int:
    """Refresh the order and SKU summaries the overview and inventory pages read."""
    state = summaries.refresh(context.session, actor=context.actor, now=context.now)
    context.progress(1.0, f"Summaries refreshed with orders through {state.data_through}.")
    return 1
