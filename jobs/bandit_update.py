"""Job: refit the campaign choice from recorded outcomes and their logged propensities."""

from __future__ import annotations

from core import policy_learning
from core.job_runner import JobContext


def run(context: JobContext) -> int:
    """One refit; rows are the campaigns with outcomes."""
    table = policy_learning.update(session=context.session, actor=context.actor, now=context.now)
    context.progress(
        1.0, f"{int(table['offers'].sum()) if len(table) else 0} outcome(s) learned from"
    )
    return len(table)
