"""The job runner: once per slot, never overlapping, all-or-nothing, with progress."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core import jobruns
from core.db import is_sqlite
from core.errors import PermissionDenied
from core.job_runner import JobContext, run_job
from core.jobruns import JobRun
from core.tables import Supplier
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[1]

SLOT = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def add_suppliers(context: JobContext) -> int:
    for n in range(3):
        context.session.add(Supplier(supplier_id=f"S{n}", name=f"Supplier {n}", lead_time_days=7))
        context.session.flush()
    return 3


def crash_halfway(context: JobContext) -> int:
    context.session.add(Supplier(supplier_id="S0", name="Half", lead_time_days=7))
    context.session.flush()
    raise RuntimeError("the feed broke half-way")


def _run(engine, func, *, slot=SLOT, actor, job="demo", **kwargs):
    return run_job(engine, job=job, func=func, slot=slot, actor=actor, clock=clock, **kwargs)


def _suppliers(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Supplier.supplier_id)))


def _runs(engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.exec(select(JobRun).order_by(JobRun.id)))


def test_a_run_commits_its_writes_and_records_success(engine, admin):
    outcome = _run(engine, add_suppliers, actor=admin)
    assert outcome.status == "succeeded" and outcome.rows == 3
    assert _suppliers(engine) == ["S0", "S1", "S2"]
    [run] = _runs(engine)
    assert (run.job, run.scheduled_for, run.status, run.rows) == ("demo", SLOT, "succeeded", 3)
    assert run.started_at == NOW and run.finished_at == NOW and run.progress == 1.0
    assert run.triggered_by == "ada"


def test_the_same_slot_never_runs_twice(engine, admin):
    calls = []

    def job(context: JobContext) -> int:
        calls.append(context.slot)
        return add_suppliers(context)

    assert _run(engine, job, actor=admin).status == "succeeded"
    again = _run(engine, job, actor=admin)
    assert again.status == "already_done" and again.ok
    assert calls == [SLOT]
    assert len(_runs(engine)) == 1
    assert _suppliers(engine) == ["S0", "S1", "S2"]


def test_another_slot_runs_again(engine, admin):
    _run(engine, lambda c: 0, actor=admin)
    assert _run(engine, lambda c: 0, slot=SLOT + timedelta(hours=1), actor=admin).ok
    assert [r.scheduled_for for r in _runs(engine)] == [SLOT, SLOT + timedelta(hours=1)]


def test_a_crash_halfway_leaves_no_writes_and_a_failed_run(engine, admin):
    outcome = _run(engine, crash_halfway, actor=admin)
    assert outcome.status == "failed" and not outcome.ok
    assert _suppliers(engine) == []
    [run] = _runs(engine)
    assert run.status == "failed" and run.rows == 0 and run.finished_at == NOW
    assert run.error.startswith("RuntimeError: the feed broke half-way")
    assert "crash_halfway" in run.error  # the traceback is kept for whoever investigates
    assert "changed nothing" in outcome.describe()


def test_a_failed_slot_can_be_run_again(engine, admin):
    _run(engine, crash_halfway, actor=admin)
    outcome = _run(engine, add_suppliers, actor=admin)
    assert outcome.status == "succeeded"
    [run] = _runs(engine)
    assert run.status == "succeeded" and run.error is None and run.id == outcome.run_id


def test_a_planner_may_not_run_jobs(engine, planner):
    with pytest.raises(PermissionDenied):
        _run(engine, add_suppliers, actor=planner)
    assert _runs(engine) == []


def test_overlapping_runs_of_one_job_from_two_threads_run_once(engine, admin):
    started, release = threading.Event(), threading.Event()
    outcomes = {}

    def slow(context: JobContext) -> int:
        started.set()
        assert release.wait(30)
        return add_suppliers(context)

    first = threading.Thread(
        target=lambda: outcomes.setdefault("first", _run(engine, slow, actor=admin))
    )
    first.start()
    assert started.wait(30)
    try:
        second = _run(engine, add_suppliers, slot=SLOT + timedelta(minutes=15), actor=admin)
    finally:
        release.set()
        first.join(30)
    assert second.status == "busy"
    assert outcomes["first"].status == "succeeded"
    assert _suppliers(engine) == ["S0", "S1", "S2"]
    # The job is free again once the first run ended.
    assert _run(engine, lambda c: 0, slot=SLOT + timedelta(minutes=30), actor=admin).ok


def test_a_skipped_slot_is_shown_and_may_run_later(engine, admin):
    if is_sqlite(engine):
        pytest.skip("on SQLite the running job holds the only write lock; skips are logged")
    started, release = threading.Event(), threading.Event()

    def slow(context: JobContext) -> int:
        started.set()
        assert release.wait(30)
        return 0

    thread = threading.Thread(target=lambda: _run(engine, slow, actor=admin))
    thread.start()
    assert started.wait(30)
    later = SLOT + timedelta(minutes=15)
    try:
        assert _run(engine, lambda c: 0, slot=later, actor=admin).status == "busy"
    finally:
        release.set()
        thread.join(30)
    skipped = [r for r in _runs(engine) if r.scheduled_for == later]
    assert [r.status for r in skipped] == ["skipped"]
    assert _run(engine, lambda c: 0, slot=later, actor=admin).status == "succeeded"


def test_progress_reaches_the_caller_and_the_ledger(engine, admin):
    seen: list[float] = []
    in_ledger: list[float] = []

    def job(context: JobContext) -> int:
        context.progress(0.5, "half way")
        with Session(engine) as other:
            in_ledger.append(other.get(JobRun, context.run_id).progress)
        context.progress(0.9)
        return 1

    _run(engine, job, actor=admin, on_progress=lambda f, _m: seen.append(f))
    assert seen == [0.5, 0.9, 1.0]
    [run] = _runs(engine)
    assert run.progress == 1.0
    # PostgreSQL shows progress while the job runs; SQLite only at start and end (see runner).
    assert in_ledger == ([0.0] if is_sqlite(engine) else [0.5])


CHILD = """
import sys, time
from datetime import UTC, datetime
from core.db import make_engine
from core.job_locks import job_lock
from core.job_runner import run_job
from core.roles import SYSTEM
engine = make_engine(sys.argv[1])
mode = sys.argv[2]
now = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
if mode == "hold":
    with job_lock(engine, "demo", now=now) as held:
        print("held" if held else "busy", flush=True)
        sys.stdin.readline()
elif mode == "die_running":
    import os
    def die(context):
        context.session.execute(__import__("sqlalchemy").text(
            "INSERT INTO suppliers (supplier_id, name, lead_time_days, status) "
            "VALUES ('X', 'x', 1, 'ok')"))
        context.session.flush()
        print("running", flush=True)
        os._exit(9)
    run_job(engine, job="demo", func=die, slot=datetime(2026, 6, 15, 1, tzinfo=UTC),
            actor=SYSTEM, clock=lambda: now)
"""


def _child(engine, mode: str) -> subprocess.Popen:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, mode],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_run_in_another_process_blocks_this_one(engine, admin):
    child = _child(engine, "hold")
    try:
        assert child.stdout.readline().strip() == "held"
        assert _run(engine, add_suppliers, actor=admin).status == "busy"
    finally:
        child.communicate("\n", timeout=30)
    assert _run(engine, add_suppliers, actor=admin).status == "succeeded"


def test_a_process_that_dies_mid_run_leaves_no_writes_and_frees_the_job(engine, admin):
    child = _child(engine, "die_running")
    assert child.stdout.readline().strip() == "running"
    child.communicate(timeout=30)
    assert child.returncode == 9
    [left] = _runs(engine)
    assert left.status == "running"
    assert _run(engine, add_suppliers, actor=admin).status == "succeeded"
    assert _suppliers(engine) == ["S0", "S1", "S2"]  # nothing of the dead run
    runs = {r.scheduled_for.hour: r for r in _runs(engine)}
    assert runs[1].status == "failed" and runs[1].error.startswith("Abandoned")
    with Session(engine) as session:
        assert jobruns.latest_runs(session, job="demo")[0].status == "succeeded"
