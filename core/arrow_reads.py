"""Queries read into Arrow columns by the ADBC drivers: SQLite's in reader processes of their
own, PostgreSQL's (`read_postgresql`) in the caller's process.

The ADBC SQLite driver builds each column in C, with no Python object per value: about 2.5x
faster than fetching rows through the sqlite3 module, and a reader process works on its own
core. The driver carries its own copy of SQLite, so it must never open a database file in a
process whose sqlite3 module has that file open: POSIX file locks belong to the process, and
one copy closing the file drops the other's locks (https://sqlite.org/howtocorrupt.html,
"multiple copies of SQLite"). So it runs only in reader processes (`python -m
core.arrow_reads`), which this module starts, feeds one query at a time and keeps for the
next reads. A reader answers each request (one JSON line) with one status byte: T and an
Arrow IPC stream of the table, N when the driver cannot type a column, E and an error message;
lengths as 8-byte little-endian counts.
"""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import pyarrow as pa

# Readers kept waiting for the next read; more start when more reads run at once.
IDLE_READERS = 2
_LENGTH = struct.Struct("<Q")


def read_table(database: str, busy_timeout_ms: int, sql: str, params: list) -> pa.Table | None:
    """The result of `sql` on the database file (in a reader process), or None when the
    driver cannot type a column.

    SQLite's values carry their own types, and the driver fixes each column's type from its
    first rows: a column that starts with NULLs and then holds text (or mixes integers and
    reals) stops it, and the caller reads that query through sqlite3 instead.
    """
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    uri = f"file:{quote(str(Path(database).resolve()))}?mode=ro"
    try:
        with adbc_sqlite.connect(uri) as db, db.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.fetchall()
            cursor.execute(sql, params or None)
            return cursor.fetch_arrow_table()
    except (adbc_sqlite.Error, OSError) as error:  # pyarrow reports the driver's as OSError
        if "Type mismatch" in str(error):
            return None
        raise


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """A reader process's loop: one answer per request line, until the input closes."""
    for line in requests:
        request = json.loads(line)
        try:
            table = read_table(
                request["database"], request["timeout"], request["sql"], request["params"]
            )
        except Exception as error:  # every error goes back to the caller
            message = str(error).encode()
            answers.write(b"E" + _LENGTH.pack(len(message)) + message)
        else:
            if table is None:
                answers.write(b"N")
            else:
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)
                payload = sink.getvalue()
                answers.write(b"T" + _LENGTH.pack(payload.size))
                answers.write(memoryview(payload))
        answers.flush()


class QueryError(sqlite3.OperationalError):
    """The database's own error for a query, from a reader process that goes on serving."""


class Reader:
    """One reader process, asked one query at a time."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.arrow_reads"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def read(self, database: str, busy_timeout_ms: int, sql: str, params: list) -> pa.Table | None:
        request = {"database": database, "timeout": busy_timeout_ms, "sql": sql, "params": params}
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        status = self._exactly(1)
        if status == b"N":
            return None
        size = _LENGTH.unpack(self._exactly(_LENGTH.size))[0]
        payload = self._exactly(size)
        if status == b"E":
            raise QueryError(payload.decode())
        return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()

    def _exactly(self, size: int) -> bytes:
        data = self.process.stdout.read(size)
        if len(data) != size:
            raise sqlite3.OperationalError(
                f"the reader process stopped (exit code {self.process.poll()})"
            )
        return data

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.process.stdout.close()


_idle: list[Reader] = []
_lock = threading.Lock()


def read(database: str, busy_timeout_ms: int, sql: str, params: list) -> pa.Table | None:
    """`read_table` in a reader process (an idle one, else a new one); see the module."""
    with _lock:
        reader = _idle.pop() if _idle else None
    if reader is not None and reader.process.poll() is not None:  # ended while idle
        reader.close()
        reader = None
    reader = reader or Reader()
    try:
        table = reader.read(database, busy_timeout_ms, sql, params)
    except QueryError:
        _give_back(reader)
        raise
    except BaseException:  # the reader's answer is lost or cut short: it cannot serve again
        reader.process.kill()
        reader.close()
        raise
    _give_back(reader)
    return table


def _give_back(reader: Reader) -> None:
    with _lock:
        keep = len(_idle) < IDLE_READERS
        if keep:
            _idle.append(reader)
    if not keep:
        reader.close()


def read_postgresql(uri: str, sql: str, params: list) -> pa.Table:
    """The result of `sql` ($1, $2, ... for `params`) on PostgreSQL, by the ADBC driver (libpq's
    binary COPY into Arrow columns). PostgreSQL has no file locks to share: it runs here."""
    import adbc_driver_postgresql.dbapi as adbc_postgresql

    with adbc_postgresql.connect(uri) as db, db.cursor() as cursor:
        cursor.execute(sql, params or None)
        return cursor.fetch_arrow_table()


@atexit.register
def close_readers() -> None:
    """Stop the idle readers (each ends when its input closes)."""
    with _lock:
        readers, _idle[:] = list(_idle), []
    for reader in readers:
        reader.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
