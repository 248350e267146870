"""Job: link orders to sent and holdout offers once their attribution window has closed."""

from __future__ import annotations

from core import outcomes, response_simulation
from core.config import Settings
from core.job_runner import JobContext


def run(context: JobContext) -> int:
    """Measure offers; on a demo database first simulate the customers' responses."""
    settings = Settings()
    if settings.simulate_responses:
        simulated = response_simulation.simulate(
            session=context.session,
            actor=context.actor,
            as_of=context.now.date(),
            now=context.now,
            traits=None,
        )
        context.progress(0.5, f"{simulated} demo response(s) simulated")
    summary = outcomes.attribute(
        session=context.session,
        actor=context.actor,
        now=context.now,
        window_days=settings.attribution_days,
    )
    context.progress(1.0, summary.describe())
    return summary.measured
