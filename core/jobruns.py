"""The run ledger: one row per (job, scheduled slot), with its outcome and progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select


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


def latest_runs(session: Session, *, limit: int = 10) -> list[JobRun]:
    """The most recent runs, newest first."""
    statement = select(JobRun).order_by(col(JobRun.started_at).desc()).limit(limit)
    return list(session.exec(statement))
