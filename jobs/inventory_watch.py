"""Job: pause open offers on SKUs or suppliers that turned bad; lift those pauses on recovery."""

from __future__ import annotations

from core import inventory_watch
from core.job_runner import JobContext


def run(context: JobContext) -> int:
    """One pass of the watch; rows are the pauses set plus those lifted."""
    summary = inventory_watch.watch(session=context.session, actor=context.actor, now=context.now)
    context.progress(1.0, summary.describe())
    return summary.changes
