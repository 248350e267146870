"""The scheduler: persistent store, explicit misfire policy, slots every process agrees on."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core.errors import InvalidInput
from core.jobruns import JobRun
from core.pauses import Pause
from jobs import registry, scheduler


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def started(engine):
    """Build the scheduler on the test database and start it paused (nothing fires)."""
    made = []

    def start(**kwargs):
        sched = scheduler.build(_url(engine), scheduler_class=BackgroundScheduler, **kwargs)
        sched.start(paused=True)
        made.append(sched)
        return sched

    yield start
    for sched in made:
        if sched.running:
            sched.shutdown(wait=False)
        # The scheduler thread may look for due jobs once more while stopping.
        sched._lookup_jobstore("default").engine.dispose()


def test_every_registered_job_is_scheduled_with_an_explicit_policy(engine, started):
    sched = started(schedule="")
    jobs = {job.id: job for job in sched.get_jobs()}
    assert set(jobs) == {job.name for job in registry.JOBS}
    for job in jobs.values():
        assert job.func_ref == scheduler.FIRE
        assert job.coalesce is True
        assert job.misfire_grace_time == scheduler.MISFIRE_GRACE_SECONDS
        assert job.max_instances == 1
    expiry = jobs["pause_expiry"]
    assert isinstance(expiry.trigger, IntervalTrigger)
    assert expiry.trigger.interval == timedelta(minutes=15)
    assert expiry.kwargs == {"name": "pause_expiry", "cadence": "every 15m"}


def test_the_job_store_lives_in_our_database_and_survives_a_restart(engine, started):
    started(schedule="").shutdown(wait=False)
    assert inspect(engine).has_table("scheduler_jobs")
    again = started(schedule="")
    assert sorted(job.id for job in again.get_jobs()) == sorted(job.name for job in registry.JOBS)


def test_the_cadence_is_configurable(engine, started):
    sched = started(schedule="pause_expiry=cron 5 * * * *")
    trigger = sched.get_job("pause_expiry").trigger
    assert isinstance(trigger, CronTrigger) and str(trigger.fields[6]) == "5"  # minute


def test_a_schedule_naming_an_unknown_job_is_refused(engine):
    with pytest.raises(InvalidInput, match="nightly"):
        scheduler.build(_url(engine), schedule="nightly=every 1d")


@pytest.mark.parametrize("bad", ["every 0m", "hourly", "cron 1 2 3", "every 5 weeks"])
def test_a_cadence_that_is_not_understood_is_refused(bad):
    with pytest.raises(InvalidInput):
        registry.parse_cadence(bad)


def test_interval_slots_are_aligned_so_every_process_agrees():
    trigger = scheduler.make_trigger("every 15m")
    now = datetime(2026, 6, 15, 9, 37, 12, tzinfo=UTC)
    assert scheduler.latest_slot(trigger, now) == datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
    on_the_dot = datetime(2026, 6, 15, 9, 45, tzinfo=UTC)
    assert scheduler.latest_slot(trigger, on_the_dot) == on_the_dot


def test_a_cron_slot_is_its_latest_fire_time():
    trigger = scheduler.make_trigger("cron 0 2 * * *")
    late = datetime(2026, 6, 15, 2, 10, tzinfo=UTC)  # ten minutes late, within the grace
    assert scheduler.latest_slot(trigger, late) == datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def test_every_job_function_is_module_level():
    for job in registry.JOBS:
        module = importlib.import_module(job.run.__module__)
        assert getattr(module, job.run.__qualname__) is job.run
    module_name, _, function = scheduler.FIRE.partition(":")
    assert getattr(importlib.import_module(module_name), function) is scheduler.fire


def test_fire_runs_the_job_once_for_its_slot(engine, monkeypatch, now):
    monkeypatch.setenv("DATABASE_URL", _url(engine))
    monkeypatch.setattr(scheduler, "_utcnow", lambda: datetime(2026, 6, 15, 9, 37, tzinfo=UTC))
    with Session(engine) as session:
        session.add(
            Pause(
                scope="all",
                target="*",
                reason="stock count",
                starts_at=now - timedelta(days=2),
                ends_at=now - timedelta(days=1),
                created_by="ada",
                created_at=now - timedelta(days=2),
            )
        )
        session.commit()
    scheduler.fire("pause_expiry", "every 15m")
    scheduler.fire("pause_expiry", "every 15m")  # a second scheduler, or a restart
    with Session(engine) as session:
        runs = list(session.exec(select(JobRun)))
        pause = session.exec(select(Pause)).one()
    assert [(r.job, r.scheduled_for, r.status, r.rows) for r in runs] == [
        ("pause_expiry", datetime(2026, 6, 15, 9, 30, tzinfo=UTC), "succeeded", 1)
    ]
    assert runs[0].triggered_by == "system"
    assert pause.lifted_by == "system" and pause.lifted_at == now - timedelta(days=1)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    # The command upgrades its own database through the migrations.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_jobs_run_runs_a_slot_once_and_jobs_list_shows_it(cli):
    args = ["jobs", "run", "pause_expiry", "--slot", "2026-06-15T02:00"]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "succeeded: 0 row(s)" in first.output
    again = cli.invoke(app, args)
    assert again.exit_code == 0 and "had already run" in again.output
    listed = cli.invoke(app, ["jobs", "list"])
    assert "pause_expiry" in listed.output and "succeeded for 2026-06-15 02:00" in listed.output


def test_jobs_run_names_the_jobs_when_one_is_unknown(cli):
    result = cli.invoke(app, ["jobs", "run", "nightly"])
    assert result.exit_code == 1 and "pause_expiry" in result.output
