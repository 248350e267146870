"""The scheduler process: one per deployment, started by `easel scheduler`.

APScheduler only decides *when*; what ran is kept in our ledger (core.jobruns) by the job
runner, which also makes sure a slot never runs twice and a job never overlaps itself, even
with a second scheduler process started by mistake.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from apscheduler.events import EVENT_SCHEDULER_START
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from core.config import Settings
from core.db import make_engine
from core.roles import SYSTEM
from jobs import registry

log = logging.getLogger(__name__)

# A slot missed by more than this (the process was down) is dropped, not run late.
MISFIRE_GRACE_SECONDS = 15 * 60
# Several missed slots of one job run once, for the latest of them.
COALESCE = True
# Interval cadences count from here, so every process agrees on the slots.
INTERVAL_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
FIRE = "jobs.scheduler:fire"


def make_trigger(cadence: str) -> BaseTrigger:
    """The APScheduler trigger for a cadence string (see jobs.registry)."""
    kind, spec = registry.parse_cadence(cadence)
    if kind == "interval":
        assert isinstance(spec, dict)
        return IntervalTrigger(start_date=INTERVAL_ANCHOR, timezone=UTC, **spec)
    assert isinstance(spec, str)
    return CronTrigger.from_crontab(spec, timezone=UTC)


def latest_slot(trigger: BaseTrigger, now: datetime) -> datetime:
    """The newest fire time at or before `now`: the slot a run started now stands for."""
    lookback = timedelta(seconds=MISFIRE_GRACE_SECONDS) + timedelta(hours=1)
    latest = None
    fire_time = trigger.get_next_fire_time(None, now - lookback)
    while fire_time is not None and fire_time <= now:
        latest = fire_time
        fire_time = trigger.get_next_fire_time(fire_time, fire_time + timedelta(microseconds=1))
    if latest is None:
        # Started far from any slot (e.g. by hand): the run stands for its own second.
        return now.replace(microsecond=0)
    return latest.astimezone(UTC)


@lru_cache(maxsize=4)
def _engine(url: str, busy_timeout_ms: int) -> Engine:
    return make_engine(url, busy_timeout_ms=busy_timeout_ms)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def fire(name: str, cadence: str) -> None:
    """What the scheduler calls: run the job for the slot that just came due."""
    settings = Settings()
    engine = _engine(settings.url, settings.sqlite_busy_timeout_ms)
    slot = latest_slot(make_trigger(cadence), _utcnow())
    outcome = registry.run(engine, name, slot=slot, actor=SYSTEM, clock=_utcnow)
    log.log(logging.INFO if outcome.ok else logging.WARNING, outcome.describe())


def build(
    database_url: str,
    jobs: tuple[registry.Job, ...] = registry.JOBS,
    *,
    schedule: str | None = None,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    """A scheduler with a persistent job store in our database and every registered job on it."""
    jobs = registry.with_schedule(jobs, registry.parse_schedule(schedule or ""))
    store = SQLAlchemyJobStore(engine=make_engine(database_url), tablename="scheduler_jobs")
    defaults = {
        "coalesce": COALESCE,
        "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        "max_instances": 1,
    }
    scheduler = scheduler_class(jobstores={"default": store}, job_defaults=defaults, timezone=UTC)
    for job in jobs:
        scheduler.add_job(
            FIRE,
            make_trigger(job.cadence),
            kwargs={"name": job.name, "cadence": job.cadence},
            id=job.name,
            name=job.name,
            replace_existing=True,
            **defaults,
        )
    return scheduler


def _forget_unregistered(scheduler: BaseScheduler, jobs: tuple[registry.Job, ...]) -> None:
    """Drop stored jobs that are no longer registered, so a renamed job does not linger."""
    known = {job.name for job in jobs}
    for stored in scheduler.get_jobs():
        if stored.id not in known:
            log.info("Removing job %s: it is no longer registered.", stored.id)
            stored.remove()


def run(database_url: str, schedule: str = "") -> None:
    """Start the scheduler and block until interrupted (`schedule` overrides cadences)."""
    jobs = registry.with_schedule(registry.JOBS, registry.parse_schedule(schedule))
    scheduler = build(database_url, jobs, schedule="")
    scheduler.add_listener(
        lambda _event: _forget_unregistered(scheduler, jobs), mask=EVENT_SCHEDULER_START
    )
    for job in jobs:
        log.info("Job %s: %s", job.name, job.cadence)
    log.info("Scheduler started with %d job(s).", len(jobs))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("Scheduler stopped.")
