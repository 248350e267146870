"""Run one job for one slot: at most once per slot, never two at a time, all-or-nothing writes.

The order of a run:
1. take the job's database lock (core.job_locks); if another run holds it, record the slot as
   skipped and stop;
2. claim the (job, slot) row of the ledger in a short transaction of its own: a slot that ran
   (or runs) is never claimed again, a failed or skipped one may be; runs left `running` by a
   dead process are marked failed first;
3. run the job function in ONE transaction; the ledger row turns `succeeded` inside that same
   transaction, so the job's writes and "this slot is done" commit together or not at all;
4. on any error, roll back and write `failed` with the error text in a transaction of its own.

On SQLite the job's transaction takes the database write lock with its first statement (like
BEGIN IMMEDIATE): a long job cannot then be failed by another writer committing between its
reads and its writes; other writers wait (busy timeout) instead. The cost: while it runs
nobody else can write, so progress reaches the ledger only at the start and the end; the
`on_progress` callback (CLI bar, console) sees every step. On PostgreSQL progress is written
to the ledger as it comes.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import jobruns
from core.db import is_sqlite
from core.job_locks import job_lock
from core.jobruns import RECLAIMABLE, RUNNING, SKIPPED, JobLock, JobRun
from core.roles import SYSTEM, Actor, Permission, require

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ProgressCallback = Callable[[float, str | None], None]
MAX_ERROR_CHARS = 8000


@dataclass
class JobContext:
    """What a job function gets: its transaction, its slot and a way to report progress."""

    session: Session  # the job's one transaction; committed only when the function returns
    engine: Engine  # for ledgers that must outlive a rollback (e.g. core.sends); not for data
    job: str
    slot: datetime  # the scheduled time this run stands for
    now: datetime  # the clock when the run started
    actor: Actor  # jobs act as the system; the ledger says who started the run
    run_id: int
    report: ProgressCallback

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report how far the job has come, from 0 to 1."""
        self.report(fraction, message)


# A job is a module-level function: (context) -> rows affected.
JobFunction = Callable[[JobContext], int | None]


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one attempt."""

    job: str
    slot: datetime
    status: str  # succeeded | failed | already_done | busy
    run_id: int | None = None
    rows: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "already_done")

    def describe(self) -> str:
        when = f"{self.slot:%Y-%m-%d %H:%M:%S}"
        if self.status == "succeeded":
            return f"{self.job} for {when} succeeded: {self.rows} row(s)."
        if self.status == "already_done":
            return f"{self.job} for {when} had already run; nothing was done again."
        if self.status == "busy":
            return f"{self.job} is already running; this attempt for {when} was skipped."
        first_line = (self.error or "").splitlines()[0] if self.error else "unknown error"
        return f"{self.job} for {when} failed and changed nothing: {first_line}"


def run_job(
    engine: Engine,
    *,
    job: str,
    func: JobFunction,
    slot: datetime,
    actor: Actor,
    clock: Clock,
    on_progress: ProgressCallback | None = None,
    hold_write_lock: bool = True,
) -> RunOutcome:
    """Run `func` for `slot` unless that slot already ran or the job is running elsewhere.

    `hold_write_lock=False` (SQLite only) starts the job's transaction lazily, for jobs that
    must commit a side ledger while they run (dispatch writes core.sends before each send).
    """
    require(actor, Permission.RUN_JOBS)
    started = clock()
    with job_lock(engine, job, now=started) as held:
        if not held:
            _record_skipped(engine, job=job, slot=slot, now=started, actor=actor)
            log.info("Job %s is running elsewhere; slot %s skipped.", job, slot)
            return RunOutcome(job, slot, "busy")
        run_id = _claim(engine, job=job, slot=slot, now=started, actor=actor)
        if run_id is None:
            return RunOutcome(job, slot, "already_done")
        return _execute(
            engine,
            job=job,
            func=func,
            slot=slot,
            run_id=run_id,
            started=started,
            clock=clock,
            on_progress=on_progress,
            hold_write_lock=hold_write_lock,
        )


def _claim(engine: Engine, *, job: str, slot: datetime, now: datetime, actor: Actor) -> int | None:
    """The run id for this slot, now `running`; None when the slot already ran."""
    for _attempt in range(2):
        try:
            with engine.begin() as conn:
                jobruns.abandon_running(conn, job=job, now=now)
                existing = conn.execute(
                    select(JobRun.id, JobRun.status).where(
                        JobRun.job == job, JobRun.scheduled_for == slot
                    )
                ).first()
                fresh = {
                    "status": RUNNING,
                    "started_at": now,
                    "finished_at": None,
                    "rows": 0,
                    "progress": 0.0,
                    "message": None,
                    "error": None,
                    "triggered_by": actor.username,
                }
                if existing is None:
                    return conn.execute(
                        insert(JobRun)
                        .values(job=job, scheduled_for=slot, **fresh)
                        .returning(JobRun.id)
                    ).scalar_one()
                if existing.status not in RECLAIMABLE:
                    return None
                conn.execute(update(JobRun).where(JobRun.id == existing.id).values(**fresh))
                return existing.id
        except IntegrityError:
            # A skipped row for this slot appeared meanwhile; read it again.
            continue
    raise RuntimeError(f"Could not claim slot {slot} of job {job}.")


def _record_skipped(
    engine: Engine, *, job: str, slot: datetime, now: datetime, actor: Actor
) -> None:
    """Leave a `skipped` row for the slot when it has none, so that the console shows it."""
    if is_sqlite(engine):
        # The running job holds SQLite's only write lock; waiting for it would stall the
        # scheduler, and the skip is only a courtesy.
        return
    try:
        with engine.begin() as conn:
            exists = conn.execute(
                select(JobRun.id).where(JobRun.job == job, JobRun.scheduled_for == slot)
            ).first()
            if exists is None:
                conn.execute(
                    insert(JobRun).values(
                        job=job,
                        scheduled_for=slot,
                        started_at=now,
                        finished_at=now,
                        status=SKIPPED,
                        rows=0,
                        progress=0.0,
                        message="Another run of this job was in progress.",
                        triggered_by=actor.username,
                    )
                )
    except IntegrityError:
        pass  # the running job owns this slot


class _Progress:
    """Passes progress to the caller and, where the database allows, to the ledger."""

    def __init__(
        self, engine: Engine, run_id: int, on_progress: ProgressCallback | None, *, ledger: bool
    ):
        self.engine, self.run_id, self.on_progress, self.ledger = (
            engine,
            run_id,
            on_progress,
            ledger,
        )
        self.last: tuple[float, str | None] = (0.0, None)

    def __call__(self, fraction: float, message: str | None = None) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        if self.on_progress is not None:
            self.on_progress(fraction, message)
        last_fraction, last_message = self.last
        if not self.ledger or (fraction - last_fraction < 0.01 and message == last_message):
            return
        self.last = (fraction, message)
        try:
            with self.engine.begin() as conn:
                jobruns.set_progress(conn, run_id=self.run_id, progress=fraction, message=message)
        except Exception:
            # Progress is for people watching; it never fails a run.
            log.warning("Could not record progress of run %s.", self.run_id, exc_info=True)


def _execute(
    engine: Engine,
    *,
    job: str,
    func: JobFunction,
    slot: datetime,
    run_id: int,
    started: datetime,
    clock: Clock,
    on_progress: ProgressCallback | None,
    hold_write_lock: bool,
) -> RunOutcome:
    sqlite = is_sqlite(engine)
    report = _Progress(engine, run_id, on_progress, ledger=not sqlite)
    session = Session(engine, expire_on_commit=False)
    try:
        if sqlite and hold_write_lock:
            # A write as the first statement takes SQLite's write lock now (BEGIN IMMEDIATE).
            session.execute(update(JobLock).where(JobLock.job == job).values(run_id=run_id))
        context = JobContext(
            session=session,
            engine=engine,
            job=job,
            slot=slot,
            now=started,
            actor=SYSTEM,
            run_id=run_id,
            report=report,
        )
        rows = int(func(context) or 0)
        session.flush()
        jobruns.mark_succeeded(session.connection(), run_id=run_id, rows=rows, now=clock())
        session.commit()
    except BaseException as error:
        session.rollback()
        session.close()
        text = "".join(traceback.format_exception(error))
        summary = f"{type(error).__name__}: {error}"
        detail = f"{summary}\n\n{text}"[:MAX_ERROR_CHARS]
        with engine.begin() as conn:
            jobruns.mark_failed(conn, run_id=run_id, error=detail, now=clock())
        if not isinstance(error, Exception):
            raise
        log.error("Job %s for %s failed: %s", job, slot, summary)
        return RunOutcome(job, slot, "failed", run_id=run_id, error=detail)
    session.close()
    if on_progress is not None:
        on_progress(1.0, None)
    log.info("Job %s for %s succeeded: %d row(s).", job, slot, rows)
    return RunOutcome(job, slot, "succeeded", run_id=run_id, rows=rows)
