"""Job: end pauses whose end date has passed."""

from __future__ import annotations

from core import pause_expiry
from core.job_runner import JobContext


def run(context: JobContext) -> int:
    """Close every pause that reached its end; one audit event each."""
    expired = pause_expiry.expire(session=context.session, actor=context.actor, now=context.now)
    context.progress(1.0, f"{len(expired)} pause(s) ended")
    return len(expired)
