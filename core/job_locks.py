"""One run of a job at a time, across threads and processes, held in the database.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) keyed by the job's name, held
on a connection of its own for the whole run. The server drops it when that connection ends,
so a crashed process can never leave a job locked.

SQLite has no advisory locks, so a row in `job_locks` names the holder as host:pid:token. A
contender reads the row (readers never wait in WAL mode) and only writes when the row is absent
or its holder is dead; the write re-checks, and SQLite's single writer makes check-and-take
atomic. A SQLite database lives on one machine, so "dead" is decided exactly by asking the
operating system whether the pid still runs; a holder on another host (a shared folder, which
SQLite does not support well anyway) only counts as dead after `stale_after`.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from core.db import is_sqlite
from core.jobruns import JobLock

log = logging.getLogger(__name__)

# The first half of the two-integer advisory key: keeps our locks apart from anyone else's.
ADVISORY_NAMESPACE = 0x45617365  # "Ease"
STALE_AFTER = timedelta(hours=24)


def advisory_key(job: str) -> int:
    """A stable signed 32-bit key for a job name (Python's hash() changes between processes)."""
    key = zlib.crc32(job.encode())
    return key - 2**32 if key >= 2**31 else key


@contextmanager
def job_lock(engine: Engine, job: str, *, now: datetime) -> Iterator[bool]:
    """Try to hold the job's lock for the block; yields False at once when someone else holds it."""
    if is_sqlite(engine):
        with _sqlite_lock(engine, job, now=now) as held:
            yield held
    else:
        with _advisory_lock(engine, job) as held:
            yield held


@contextmanager
def _advisory_lock(engine: Engine, job: str) -> Iterator[bool]:
    conn = engine.connect()
    params = {"namespace": ADVISORY_NAMESPACE, "key": advisory_key(job)}
    try:
        held = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:namespace, :key)"), params).scalar()
        )
        conn.commit()  # the lock belongs to the connection, not to this transaction
    except BaseException:
        conn.invalidate()
        conn.close()
        raise
    if not held:
        conn.close()
        yield False
        return
    try:
        yield True
    finally:
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:namespace, :key)"), params)
            conn.commit()
        except Exception:
            # Closing the server connection releases the lock for certain.
            log.warning("Could not unlock job %s cleanly; dropping the connection.", job)
            conn.invalidate()
        finally:
            conn.close()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def holder_alive(owner: str, acquired_at: datetime, *, now: datetime) -> bool:
    """Whether the process named in a lock row still runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host == socket.gethostname() and pid_text.isdigit():
        return _pid_alive(int(pid_text))
    return now - acquired_at < STALE_AFTER


@contextmanager
def _sqlite_lock(engine: Engine, job: str, *, now: datetime) -> Iterator[bool]:
    me = _owner()
    held = _take_sqlite_lock(engine, job, me, now=now)
    if not held:
        yield False
        return
    try:
        yield True
    finally:
        with engine.begin() as conn:
            conn.execute(delete(JobLock).where(JobLock.job == job, JobLock.owner == me))


def _take_sqlite_lock(engine: Engine, job: str, me: str, *, now: datetime) -> bool:
    # A read first: a live holder may be in the middle of a long write, and a write here
    # would wait for it; reading in WAL mode never waits.
    with engine.connect() as conn:
        current = conn.execute(select(JobLock).where(JobLock.job == job)).first()
    if current is not None and holder_alive(current.owner, current.acquired_at, now=now):
        return False
    with engine.begin() as conn:
        # The first statement writes, so the check below runs under SQLite's write lock.
        inserted = conn.execute(
            sqlite_insert(JobLock)
            .values(job=job, owner=me, acquired_at=now)
            .on_conflict_do_nothing(index_elements=["job"])
        )
        if inserted.rowcount == 1:
            return True
        current = conn.execute(select(JobLock).where(JobLock.job == job)).first()
        if current is not None and holder_alive(current.owner, current.acquired_at, now=now):
            return False
        log.warning("Taking over the lock of job %s left by %s.", job, current and current.owner)
        conn.execute(
            update(JobLock).where(JobLock.job == job).values(owner=me, acquired_at=now, run_id=None)
        )
        return True
