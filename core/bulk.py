"""Set-based writes: insert or upsert whole frames in chunks, never row by row through the ORM."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Date, DateTime, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

CHUNK_ROWS = 20_000

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
        array = values.to_numpy(dtype=object)
        if mask.any():
            array[mask] = None
        if series.dtype.kind in "iub":
            array = np.array([None if v is None else v.item() if hasattr(v, "item") else v for v in array], dtype=object)
        out[column.name] = array
    names = list(out)
    return [dict(zip(names, row, strict=True)) for row in zip(*out.values(), strict=True)]


def _statement(conn: Connection, table: Table, update: bool):
    if not update:
        return insert(table)
    dialect = conn.dialect.name
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    if module is None:
        raise NotImplementedError(f"Upsert is not implemented for {dialect}.")
    statement = module.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updatable = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
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
    """Insert (or upsert by primary key) every row of the frame; returns the row count."""
    written = 0
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        records = _records(table, chunk)
        if records:
            conn.execute(_statement(conn, table, update), records)
        written += len(chunk)
        if progress:
            progress(len(chunk))
    return written


def chunks(frame: pd.DataFrame, size: int) -> Iterable[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]
