"""Reading query results into frames fast: SQLite rows straight from the driver, dates parsed
per column (SQLAlchemy would build one `date` object per stored string)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Boolean, Date, DateTime, Select
from sqlalchemy.engine import Connection

from core.db import CHANGES_AT_BEGIN

# Rows fetched from the driver at a time: a few hundred MB of Python objects at most.
READ_CHUNK_ROWS = 250_000


def read_frame(conn: Connection, statement: Select, *, chunk_rows: int = READ_CHUNK_ROWS):
    """Run a select into a frame: dates as datetime64[s], booleans as bool, in the stored order.

    On SQLite the rows come straight from the driver in chunks: SQLAlchemy would turn every
    stored date string into a `date` object one by one (most of the time of reading millions
    of orders), and one list of all rows would double the peak memory. Dates are parsed per
    column instead. PostgreSQL's driver returns dates already.
    """
    if conn.dialect.name == "sqlite":
        compiled = statement.compile(
            dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = [compiled.params[name] for name in compiled.positiontup or []]
        params = [p.isoformat() if isinstance(p, date) else p for p in params]
        cursor = conn.connection.driver_connection.execute(str(compiled), params)
        names = [d[0] for d in cursor.description]
        parts = []
        try:
            while rows := cursor.fetchmany(chunk_rows):
                parts.append(_typed(pd.DataFrame.from_records(rows, columns=names), statement))
                del rows
        finally:
            cursor.close()
        if not parts:
            return _typed(pd.DataFrame({n: pd.Series([], dtype=object) for n in names}), statement)
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return _typed(pd.read_sql(statement, conn), statement)


@contextmanager
def reading_beside(conn: Connection) -> Iterator[Callable[[Select], Future]]:
    """Submit reads to run on a second connection in a background thread while `conn` reads on.

    SQLite spends most of a large GROUP BY inside the library, which releases the GIL: on a
    second connection it overlaps with building frames from other rows here, using the
    machine's second core. That needs a database file (an in-memory one is private to its
    connection) and nothing written yet in `conn`'s transaction (the second connection sees
    committed data only). Otherwise, and on other databases, each read runs here at once, in
    the order submitted. Leaving the block waits for the reads and closes the connection.
    """
    if not _sees_the_same_beside(conn):

        def here(statement: Select) -> Future:
            done: Future = Future()
            done.set_result(read_frame(conn, statement))
            return done

        yield here
        return
    with conn.engine.connect() as other, ThreadPoolExecutor(max_workers=1) as worker:
        yield lambda statement: worker.submit(read_frame, other, statement)


def _sees_the_same_beside(conn: Connection) -> bool:
    """True when a second connection would read what `conn` reads (see reading_beside)."""
    if conn.dialect.name != "sqlite" or (conn.engine.url.database or "") in ("", ":memory:"):
        return False
    written = conn.connection.driver_connection.total_changes
    return conn.info.get(CHANGES_AT_BEGIN) == written


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO date strings (or dates) as datetime64[s]; Arrow parses strings ~20x faster than pandas."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        try:
            stamps = pc.cast(arrow_strings(values), pa.timestamp("s"))
            return pd.Series(stamps.to_numpy(zero_copy_only=False), index=values.index)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # not plain ISO text: the general parser below
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        values = pd.to_datetime(values.astype(object), format="ISO8601")
    return values.astype("datetime64[s]")


def _typed(frame: pd.DataFrame, statement: Select) -> pd.DataFrame:
    """Dates and booleans of the selected columns as numpy types (nullable ones stay objects)."""
    for column in statement.selected_columns:
        name, kind = column.name, column.type
        if name not in frame.columns:
            continue
        if isinstance(kind, Date) and not isinstance(kind, DateTime):
            frame[name] = parse_dates(frame[name])
        elif isinstance(kind, Boolean) and frame[name].notna().all():
            frame[name] = frame[name].astype(bool)
    return frame


def arrow_strings(values: pd.Series) -> pa.Array:
    """The column as an Arrow string array (keys compare as strings, as `astype(str)` would)."""
    array = pa.array(values.astype(str), type=pa.large_string())
    # A frame read in chunks holds chunked columns: one array keeps the Arrow kernels vectorised.
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
