"""Set-based writes: insert or upsert whole frames in chunks, never row by row through the ORM."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sqlalchemy import Date, DateTime, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

CHUNK_ROWS = 20_000
SQLITE_BULK_CACHE_KIB = -262_144  # negative: KiB, i.e. up to 256 MB while a bulk insert runs

Progress = Callable[[int], None]


def _records(table: Table, frame: pd.DataFrame) -> list[dict]:
    """Plain Python values for the driver: None for missing, date for Date, etc."""
    columns = [c for c in table.columns if c.name in frame.columns]
    out = {}
    for column in columns:
        series = frame[column.name]
        if isinstance(column.type, Date) and not isinstance(column.type, DateTime):
            values = pd.to_datetime(series).dt.date.astype(object)
        elif isinstance(column.type, DateTime):
            values = pd.to_datetime(series, utc=True).astype(object)
        else:
            values = series.astype(object)
        mask = pd.isna(series).to_numpy()
        array = values.to_numpy(dtype=object, copy=True)
        if mask.any():
            array[mask] = None
        if series.dtype.kind in "iub":
            array = np.array(
                [None if v is None else v.item() if hasattr(v, "item") else v for v in array],
                dtype=object,
            )
        out[column.name] = array
    names = list(out)
    return [dict(zip(names, row, strict=True)) for row in zip(*out.values(), strict=True)]


def _statement(conn: Connection, table: Table, update: bool, present: set[str] | None = None):
    if not update:
        return insert(table)
    dialect = conn.dialect.name
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    if module is None:
        raise NotImplementedError(f"Upsert is not implemented for {dialect}.")
    statement = module.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updatable = {
        c.name: statement.excluded[c.name]
        for c in table.columns
        if c.name not in keys and (present is None or c.name in present)
    }
    if not updatable:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(index_elements=keys, set_=updatable)


def write_frame(
    conn: Connection,
    table: Table,
    frame: pd.DataFrame,
    *,
    update: bool = True,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> int:
    """Insert (or upsert by primary key) every row of the frame; returns the row count.

    An insert fills columns missing from the frame with the table's defaults; an upsert leaves
    them out, so that the stored values of existing rows are kept.
    """
    if not update:
        frame = with_defaults(table, frame)
    if not update and conn.dialect.name in _FAST_INSERT:
        return _FAST_INSERT[conn.dialect.name](conn, table, frame, chunk_rows, progress)
    written = 0
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        records = _records(table, chunk)
        if records:
            conn.execute(_statement(conn, table, update, set(frame.columns)), records)
        written += len(chunk)
        if progress:
            progress(len(chunk))
    return written


def with_defaults(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame plus every missing column that has a plain default value."""
    missing = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in frame.columns and c.default is not None and c.default.is_scalar
    }
    return frame.assign(**missing) if missing else frame


@contextmanager
def large_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a large page cache for the duration of a bulk load (2 MB by default).

    It keeps the growing indexes and the parents' keys in memory: ~1.6x faster inserts.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


def _driver_columns(
    conn: Connection, table: Table, frame: pd.DataFrame
) -> tuple[list[str], list[list]]:
    """Column-wise plain values the DB-API driver takes as they are (None for missing)."""
    names, columns = [], []
    for column in table.columns:
        if column.name not in frame.columns:
            continue
        series = frame[column.name]
        mask = pd.isna(series).to_numpy()
        kind = getattr(column.type, "impl", column.type)  # look through TypeDecorators
        if isinstance(kind, Date) and not isinstance(kind, DateTime):
            days = pd.to_datetime(series).to_numpy().astype("datetime64[D]")
            # SQLAlchemy keeps SQLite dates as ISO text; PostgreSQL's COPY parses the same text.
            array = np.datetime_as_string(days, unit="D").astype(object)
        elif isinstance(kind, DateTime):
            # Each distinct timestamp is converted once (a write often stamps every row alike).
            codes, distinct = pd.factorize(pd.to_datetime(series, utc=True))
            process = column.type._cached_bind_processor(conn.dialect) or (lambda v: v)
            converted = [process(v.to_pydatetime()) for v in distinct]
            array = np.array([*converted, None], dtype=object)[codes]
        else:
            array = series.to_numpy(dtype=object, copy=True)
        if mask.any():
            array[mask] = None
        names.append(column.name)
        columns.append(array.tolist())
    return names, columns


def _insert_sqlite(conn, table, frame, chunk_rows, progress) -> int:
    """Plain executemany of tuples on the driver: several times faster than dict binds."""
    quote = conn.dialect.identifier_preparer.quote
    cursor = conn.connection.driver_connection.cursor()
    written = 0
    try:
        for chunk in chunks(frame, chunk_rows):
            names, columns = _driver_columns(conn, table, chunk)
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            cursor.executemany(sql, zip(*columns, strict=True))
            written += len(chunk)
            if progress:
                progress(len(chunk))
    finally:
        cursor.close()
    return written


def _insert_postgresql(conn, table, frame, chunk_rows, progress) -> int:
    """COPY FROM STDIN through psycopg: the fastest way into PostgreSQL."""
    quote = conn.dialect.identifier_preparer.quote
    cursor = conn.connection.driver_connection.cursor()
    written = 0
    try:
        for chunk in chunks(frame, chunk_rows):
            names, columns = _driver_columns(conn, table, chunk)
            target = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
            with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in zip(*columns, strict=True):
                    copy.write_row(row)
            written += len(chunk)
            if progress:
                progress(len(chunk))
    finally:
        cursor.close()
    return written


_FAST_INSERT = {"sqlite": _insert_sqlite, "postgresql": _insert_postgresql}


def chunks(frame: pd.DataFrame, size: int) -> Iterable[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]
