"""Job: propose next week's campaigns and offers from the latest scores, stock and pauses."""

from __future__ import annotations

from core import proposals
from core.job_runner import JobContext

STEPS = 8


def run(context: JobContext) -> int:
    """Propose (or refresh) the week after the slot's day, in the job's transaction."""
    done = [0]

    def step(label: str) -> None:
        done[0] += 1
        context.progress(min(done[0] / STEPS, 0.95), label)

    summary = proposals.propose(
        session=context.session,
        as_of=context.slot.date(),
        now=context.now,
        actor=context.actor,
        progress=step,
    )
    context.progress(1.0, f"{summary.offers} offers proposed for {summary.week}")
    return summary.offers
