"""The scheduler process: one per deployment, started by `easel scheduler`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledJob:
    """A job the scheduler runs: a module-level function and its trigger."""

    name: str
    func: str  # "module:function", so that the persistent store can find it again
    trigger: str
    trigger_args: dict = field(default_factory=dict)


# Jobs join this list as they are built (scoring, proposals, inventory watch, dispatch, ...).
JOBS: tuple[ScheduledJob, ...] = ()

MISFIRE_GRACE_SECONDS = 15 * 60


def build(database_url: str, jobs: tuple[ScheduledJob, ...] = JOBS) -> BlockingScheduler:
    """A scheduler with a persistent job store in our database and every known job on it."""
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename="scheduler_jobs")},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "max_instances": 1,
        },
        timezone="UTC",
    )
    for job in jobs:
        scheduler.add_job(
            job.func,
            job.trigger,
            id=job.name,
            name=job.name,
            replace_existing=True,
            **job.trigger_args,
        )
    return scheduler


def run(database_url: str) -> None:
    """Start the scheduler and block until interrupted."""
    scheduler = build(database_url)
    if not JOBS:
        log.info("No jobs are registered yet; the scheduler waits.")
    log.info("Scheduler started with %d job(s).", len(JOBS))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("Scheduler stopped.")
