"""The run ledger: one row per (job, scheduled slot), with its outcome and progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint, update
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, col, select

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
# A slot whose run failed or was skipped may be claimed again; one that ran or runs may not.
RECLAIMABLE = (FAILED, SKIPPED)


class JobRun(SQLModel, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "scheduled_for", name="uq_job_run_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True)
    scheduled_for: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status: str = "running"  # running | succeeded | failed | skipped
    rows: int = 0
    progress: float = 0.0
    message: str | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    triggered_by: str = "scheduler"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class JobLock(SQLModel, table=True):
    """Who runs a job right now, on databases without advisory locks (SQLite)."""

    __tablename__ = "job_locks"

    job: str = Field(primary_key=True)
    run_id: int | None = None
    owner: str  # "host:pid", so that a lock left by a dead process can be recognised
    acquired_at: datetime


def latest_runs(session: Session, *, limit: int = 10, job: str | None = None) -> list[JobRun]:
    """The most recent runs, newest first (optionally of one job)."""
    statement = select(JobRun)
    if job is not None:
        statement = statement.where(JobRun.job == job)
    statement = statement.order_by(
        col(JobRun.started_at).desc().nulls_last(), col(JobRun.id).desc()
    ).limit(limit)
    return list(session.exec(statement))


def last_run_by_job(session: Session) -> dict[str, JobRun]:
    """Each job's most recent run."""
    newest = {}
    for run in session.exec(select(JobRun).order_by(col(JobRun.id))):
        newest[run.job] = run
    return newest


def get_run(session: Session, run_id: int) -> JobRun | None:
    return session.get(JobRun, run_id)


def set_progress(
    conn: Connection, *, run_id: int, progress: float, message: str | None = None
) -> None:
    """Record how far a running job has come (the caller commits)."""
    values: dict = {"progress": max(0.0, min(1.0, progress))}
    if message is not None:
        values["message"] = message[:500]
    conn.execute(
        update(JobRun).where(col(JobRun.id) == run_id, col(JobRun.status) == RUNNING).values(values)
    )


def mark_succeeded(conn: Connection, *, run_id: int, rows: int, now: datetime) -> None:
    conn.execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id)
        .values(status=SUCCEEDED, rows=rows, progress=1.0, finished_at=now, error=None)
    )


def mark_failed(conn: Connection, *, run_id: int, error: str, now: datetime) -> None:
    conn.execute(
        update(JobRun)
        .where(col(JobRun.id) == run_id)
        .values(status=FAILED, rows=0, finished_at=now, error=error)
    )


def abandon_running(conn: Connection, *, job: str, now: datetime) -> int:
    """Mark runs left `running` by a process that died as failed (call only under the job lock)."""
    result = conn.execute(
        update(JobRun)
        .where(col(JobRun.job) == job, col(JobRun.status) == RUNNING)
        .values(
            status=FAILED,
            rows=0,
            finished_at=now,
            error="Abandoned: the process running it ended before the run finished; "
            "its changes were rolled back.",
        )
    )
    return result.rowcount or 0
