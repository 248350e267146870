"""Job: rebuild the console summaries after the night's scoring and outcomes."""

from __future__ import annotations

from core import summaries
from core.job_runner import JobContext


def run(context: JobContext) -> int:
    """Refresh the summaries the overview, inventory and customer pages read: the last weeks
    (imports of orders refresh everything themselves); everything the first time."""
    since = summaries.nightly_since(context.session)
    state = summaries.refresh(context.session, actor=context.actor, now=context.now, since=since)
    context.progress(1.0, f"Summaries refreshed with orders through {state.data_through}.")
    return 1
