"""Set-based writes: insert or upsert whole frames in chunks, never row by row through the ORM."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Boolean, Date, DateTime, Enum, Float, Integer, String, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

CHUNK_ROWS = 20_000
SQLITE_BULK_CACHE_KIB = -262_144  # negative: KiB, i.e. up to 256 MB while a bulk insert runs
# An index build sorts its entries in runs the size of the page cache (in helper threads), then
# merges them: small runs sort fastest. 10M orders' date index: 8 s in 8 MB runs, 18 s in 256 MB.
SQLITE_SORT_CACHE_KIB = -8_192
SQLITE_SORT_THREADS = 2

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
    if update and conn.dialect.name in _FAST_UPSERT and _plain_defaults(table, frame):
        present = set(frame.columns)
        full = with_defaults(table, frame)
        return _FAST_UPSERT[conn.dialect.name](conn, table, full, present, chunk_rows, progress)
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


def _plain_defaults(table: Table, frame: pd.DataFrame) -> bool:
    """Whether every column missing from the frame has no default or a plain (scalar) one."""
    return all(
        c.default is None or c.default.is_scalar for c in table.columns if c.name not in frame
    )


def with_defaults(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame plus every missing column that has a plain default value."""
    missing = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in frame.columns and c.default is not None and c.default.is_scalar
    }
    return frame.assign(**missing) if missing else frame


# A bulk load of at least this many rows gathers the planner's statistics afterwards.
ANALYZE_ROWS = 10_000


def gather_statistics(conn: Connection, tables, *, rows: int | None = None) -> None:
    """On PostgreSQL, the planner's statistics of tables a bulk load wrote, in its transaction;
    with `rows` (how many the load wrote), only for a load of at least ANALYZE_ROWS.

    A server without autovacuum would otherwise plan queries on them blind (a million
    customers' week of proposals read its inputs in 26 s instead of 20 s) until the next
    summaries refresh. ANALYZE reads a sample: about 0.3 s for a million order lines.
    """
    if conn.dialect.name != "postgresql" or (rows is not None and rows < ANALYZE_ROWS):
        return
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql("ANALYZE " + ", ".join(quote(t) for t in tables))


@contextmanager
def large_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a large page cache for the duration of a bulk load (2 MB by default).

    It keeps the growing indexes and the parents' keys in memory: ~1.6x faster inserts.
    """
    with _sqlite_pragma(conn, "cache_size", SQLITE_BULK_CACHE_KIB):
        yield


@contextmanager
def _sqlite_pragma(conn: Connection, name: str, value: int) -> Iterator[None]:
    """On SQLite, the pragma set to `value` for the block, then set back; elsewhere nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
    conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA {name}={int(previous)}")


@contextmanager
def indexes_set_aside(conn: Connection, table: Table) -> Iterator[None]:
    """Drop the table's secondary indexes (and on PostgreSQL its foreign keys) for a bulk load,
    and build them again after it.

    Building an index once over all the rows is several times faster than growing it row by
    row. The statements are the database's own, so the indexes come back exactly as they were;
    in the load's transaction, a failure leaves them untouched. Primary keys, unique
    constraints and partial indexes stay: a partial index holds a small share of the rows (none
    of a purchase log's orders is late), and building one again reads the whole table. On
    PostgreSQL the table (and the tables its foreign keys name) are locked until the load
    commits: meant for a first load into an empty table.
    """
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name",
            (table.name,),
        ).all()
    elif conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = %(table)s "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = format('%%I.%%I', i.schemaname, i.indexname)::regclass) "
            "ORDER BY i.indexname",
            {"table": table.name},
        ).all()
    else:
        found = []
    quote = conn.dialect.identifier_preparer.quote
    keys = []
    if conn.dialect.name == "postgresql":
        # Each row's foreign key check is a query of its own; one check of all rows after the
        # load, when the constraint is added again, is a single join.
        keys = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %(table)s::regclass AND contype = 'f' ORDER BY conname",
            {"table": quote(table.name)},
        ).all()
    found = [(name, sql) for name, sql in found if " WHERE " not in sql.upper()]
    for name, _ in found:
        conn.exec_driver_sql(f"DROP INDEX {quote(name)}")
    for name, _ in keys:
        conn.exec_driver_sql(f"ALTER TABLE {quote(table.name)} DROP CONSTRAINT {quote(name)}")
    yield
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
    # Helper threads sort the entries in runs the size of the cache: small runs are fastest.
    with (
        _sqlite_pragma(conn, "cache_size", SQLITE_SORT_CACHE_KIB),
        _sqlite_pragma(conn, "threads", SQLITE_SORT_THREADS),
    ):
        for _, sql in found:
            conn.exec_driver_sql(sql)
    for name, definition in keys:
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {quote(name)} {definition}"
        )


def _driver_columns(
    conn: Connection, table: Table, frame: pd.DataFrame
) -> tuple[list[str], list[list]]:
    """Column-wise plain values the DB-API driver takes as they are (None for missing)."""
    names, arrays = _driver_arrays(conn, table, frame)
    return names, [array.tolist() for array in arrays]


def _driver_arrays(
    conn: Connection, table: Table, frame: pd.DataFrame
) -> tuple[list[str], list[np.ndarray]]:
    """_driver_columns' values as object arrays."""
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
            array = _timestamps(conn, column, series)
        else:
            array = series.to_numpy(dtype=object, copy=True)
        if mask.any():
            array[mask] = None
        names.append(column.name)
        columns.append(array)
    return names, columns


def _timestamps(conn: Connection, column, series: pd.Series, form=lambda v: v) -> np.ndarray:
    """The column's times as the driver takes them (None for missing), each passed through
    `form`; each distinct time is converted once (a write often stamps every row alike)."""
    codes, distinct = pd.factorize(pd.to_datetime(series, utc=True))
    process = column.type._cached_bind_processor(conn.dialect) or (lambda v: v)
    converted = [form(process(v.to_pydatetime())) for v in distinct]
    return np.array([*converted, None], dtype=object)[codes]


def _insert_sqlite(conn, table, frame, chunk_rows, progress) -> int:
    """Multi-row INSERTs of plain values on the driver, a few hundred rows per statement.

    Per row, executemany steps the statement, resets it and takes the GIL back; one statement
    of hundreds of rows does that once (about 2x faster for a million orders). A value every
    row of a chunk shares (a default, NULL) is bound once, by number, and not once per row.
    """
    quote = conn.dialect.identifier_preparer.quote
    driver = conn.connection.driver_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    written = 0
    with closing(driver.cursor()) as cursor:
        for chunk in chunks(frame, chunk_rows):
            names, columns = _driver_arrays(conn, table, chunk)
            into = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "
            shared = [i for i, values in enumerate(columns) if _one_value(values)]
            varying = [i for i in range(len(columns)) if i not in shared]
            head = [columns[i][0] for i in shared]
            width = len(varying)
            per_statement = max(1, min(ROWS_PER_STATEMENT, (limit - len(head)) // max(width, 1)))
            flat = np.empty((len(chunk), width), dtype=object)
            for j, i in enumerate(varying):
                flat[:, j] = columns[i]
            for start in range(0, len(chunk), per_statement):
                rows = flat[start : start + per_statement]
                sql = into + _values_sql(len(names), tuple(shared), len(rows))
                cursor.execute(sql, head + rows.ravel().tolist())
            written += len(chunk)
            if progress:
                progress(len(chunk))
    return written


ROWS_PER_STATEMENT = 500


def _one_value(array: np.ndarray) -> bool:
    """Whether every value is the same one, of one type (1, 1.0 and True are not the same)."""
    first, last = array[0], array[-1]
    if type(first) is not type(last) or (first is not None and first != last):
        return False  # most columns: no need to look further
    values = array.tolist()
    if values.count(first) != len(values):
        return False
    return first is None or len(set(map(type, values))) == 1


@lru_cache(maxsize=64)
def _values_sql(width: int, shared: tuple[int, ...], rows: int) -> str:
    """VALUES rows of numbered markers: the shared columns' first, then each row's own."""
    shared = list(shared)
    own = width - len(shared)
    parts = []
    for row in range(rows):
        markers, next_own = [], len(shared) + row * own + 1
        for column in range(width):
            if column in shared:
                markers.append(f"?{shared.index(column) + 1}")
            else:
                markers.append(f"?{next_own}")
                next_own += 1
        parts.append(f"({', '.join(markers)})")
    return ", ".join(parts)


def _insert_postgresql(conn, table, frame, chunk_rows, progress) -> int:
    """COPY FROM STDIN through psycopg: the fastest way into PostgreSQL."""
    return _copy(conn, table, table.name, frame, chunk_rows, progress)


def _copy(conn, table, target, frame, chunk_rows, progress) -> int:
    """COPY the frame into target (the table or a temporary copy of it) in one statement.

    Text, whole numbers, floats, flags, dates and times go as CSV that arrow writes from the
    frame's columns (no Python object per value but one per distinct time; psycopg sends a
    chunk from its own thread while the next is written, and the server parses it on the other
    core). Values arrow would not write as psycopg does (see _arrow_ready) go as preformatted
    COPY text; any other column type row by row through psycopg's dumpers.
    """
    quote = conn.dialect.identifier_preparer.quote
    columns = [c for c in table.columns if c.name in frame.columns]
    names = [c.name for c in columns]
    plain = all(_is_plain(c) for c in columns)
    arrow = plain and all(_arrow_ready(c, frame[c.name]) for c in columns)
    into = f"{quote(target)} ({', '.join(quote(n) for n in names)})"
    form = " WITH (FORMAT csv)" if arrow else ""
    written = 0
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {into} FROM STDIN{form}") as copy:
        for chunk in chunks(frame, chunk_rows):
            if arrow:
                copy.write(_copy_csv(conn, columns, chunk))
            elif plain:
                copy.write(_copy_text(_driver_columns(conn, table, chunk)[1]))
            else:
                for row in zip(*_driver_columns(conn, table, chunk)[1], strict=True):
                    copy.write_row(row)
            written += len(chunk)
            if progress:
                progress(len(chunk))
    return written


def _arrow_type(column) -> pa.DataType | None:
    """The arrow type a column's values are written from as CSV; None: not this way."""
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, DateTime):
        return _TIMES
    if isinstance(kind, Enum):
        return None
    for sql_type, arrow_type in _ARROW_TYPES:
        if isinstance(kind, sql_type):
            return arrow_type
    return None


def _arrow_ready(column, series: pd.Series) -> bool:
    """Whether the column's values convert to its arrow type as the COPY text would write them.

    Anything else (floats in a whole-number column, numbers in a text column, ...) goes as
    preformatted text, which writes them as before and lets PostgreSQL say what is wrong.
    """
    arrow_type = _arrow_type(column)
    if arrow_type is None:
        return False
    dtype = series.dtype
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        return inferred == "empty" or inferred in _ARROW_INFERRED[arrow_type]
    if arrow_type in (pa.date32(), _TIMES):
        return pd.api.types.is_datetime64_any_dtype(dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return arrow_type == pa.bool_()
    if pd.api.types.is_integer_dtype(dtype):
        return arrow_type in (pa.int64(), pa.float64())
    if pd.api.types.is_float_dtype(dtype):
        return arrow_type == pa.float64()
    return pd.api.types.is_string_dtype(dtype) and arrow_type == pa.large_string()


# Times go as the text psycopg would send (each distinct time formatted once; see _timestamps).
_TIMES = pa.timestamp("us", tz="UTC")
_ARROW_INFERRED = {
    pa.bool_(): {"boolean"},
    pa.date32(): {"date", "datetime", "datetime64"},
    _TIMES: {"datetime", "datetime64"},
    pa.float64(): {"floating", "integer", "mixed-integer-float"},
    pa.int64(): {"integer"},
    pa.large_string(): {"string"},
}
_ARROW_TYPES = (
    (Boolean, pa.bool_()),
    (Date, pa.date32()),
    (Float, pa.float64()),
    (Integer, pa.int64()),
    (String, pa.large_string()),
)


def _copy_csv(conn: Connection, columns: list, chunk: pd.DataFrame) -> bytes:
    """The chunk as COPY's CSV: NULL unquoted and empty, every text quoted (so '' is text).

    Floats are written in their shortest round-trip form, which PostgreSQL reads back as the
    same double.
    """
    arrays = []
    for column in columns:
        series = chunk[column.name]
        arrow_type = _arrow_type(column)
        if arrow_type == _TIMES:
            texts = _timestamps(conn, column, series, form=_copy_value)
            arrays.append(pa.array(texts, type=pa.large_string()))
        elif arrow_type == pa.date32():
            mask = pd.isna(series).to_numpy()
            if series.dtype.kind != "M":  # not yet naive datetime64
                series = pd.to_datetime(series)
            days = series.to_numpy().astype("datetime64[D]")
            arrays.append(pa.array(days, type=arrow_type, mask=mask))
        else:
            arrays.append(pa.array(series, type=arrow_type, from_pandas=True))
    sink = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    pa_csv.write_csv(pa.table(arrays, names=[c.name for c in columns]), sink, options)
    return sink.getvalue()


def _is_plain(column) -> bool:
    kind = getattr(column.type, "impl", column.type)
    return isinstance(kind, String | Integer | Float | Boolean | Date | DateTime) and not (
        isinstance(kind, Enum)
    )


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(columns: list[list]) -> str:
    """Rows of COPY's text format: tab-separated, \\N for NULL, backslash escapes in text."""
    texts = []
    for values in columns:
        values = _copy_texts(values)
        if _COPY_SPECIAL.search("\x00".join(filter(None, values))):
            values = [v if v is None else v.translate(_COPY_ESCAPES) for v in values]
        if None in values:
            values = ["\\N" if v is None else v for v in values]
        texts.append(values)
    return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"


def _copy_texts(values: list) -> list:
    """One column's values as text (None stays None), a whole column at a time where it can."""
    kinds = set(map(type, values)) - {type(None)}
    if kinds <= {str}:
        return values
    if len(kinds) == 1 and (form := _COPY_FORMS.get(kinds.pop())) is not None:
        if None not in values:
            return list(map(form, values))
        return [None if v is None else form(v) for v in values]
    return [None if v is None else _copy_value(v) for v in values]


_COPY_FORMS = {float: float.__repr__, int: int.__repr__, bool: {True: "t", False: "f"}.__getitem__}


def _copy_value(value) -> str:
    """One plain value as PostgreSQL reads it: what psycopg's dumpers would write."""
    if isinstance(value, bool | np.bool_):
        return "t" if value else "f"
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _upsert_sqlite(conn, table, frame, present, chunk_rows, progress) -> int:
    """INSERT ... ON CONFLICT DO UPDATE of plain tuples on the driver (no per-row binds)."""
    quote = conn.dialect.identifier_preparer.quote
    cursor = conn.connection.driver_connection.cursor()
    written = 0
    try:
        for chunk in chunks(frame, chunk_rows):
            names, columns = _driver_columns(conn, table, chunk)
            cursor.executemany(
                _upsert_sql(table, names, present, quote, "?"), zip(*columns, strict=True)
            )
            written += len(chunk)
            if progress:
                progress(len(chunk))
    finally:
        cursor.close()
    return written


def _upsert_postgresql(conn, table, frame, present, chunk_rows, progress) -> int:
    """COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE."""
    quote = conn.dialect.identifier_preparer.quote
    keys = [c.name for c in table.primary_key.columns]
    repeated = frame.duplicated(subset=keys, keep="last")
    if repeated.any():
        # One statement may touch a row once; row by row, the last of a key would win.
        frame = frame.loc[~repeated.to_numpy()]
    staging = f"easel_upsert_{table.name}"
    names = [c.name for c in table.columns if c.name in frame.columns]
    columns = ", ".join(quote(n) for n in names)
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {quote(staging)} ON COMMIT DROP AS "
        f"SELECT {columns} FROM {quote(table.name)} WITH NO DATA"
    )
    written = _copy(conn, table, staging, frame, chunk_rows, progress)
    upsert = _upsert_sql(table, names, present, quote, None)
    conn.exec_driver_sql(upsert.format(source=f"SELECT {columns} FROM {quote(staging)}"))
    conn.exec_driver_sql(f"DROP TABLE {quote(staging)}")
    return written


def _upsert_sql(table, names, present, quote, marker) -> str:
    """The upsert of the named columns: VALUES of markers, or a {source} query when no marker."""
    keys = [c.name for c in table.primary_key.columns]
    updatable = [n for n in names if n not in keys and n in present]
    source = f"VALUES ({', '.join(marker for _ in names)})" if marker else "{source}"
    conflict = f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO "
    if updatable:
        conflict += "UPDATE SET " + ", ".join(
            f"{quote(n)} = excluded.{quote(n)}" for n in updatable
        )
    else:
        conflict += "NOTHING"
    return (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"{source} {conflict}"
    )


_FAST_INSERT = {"sqlite": _insert_sqlite, "postgresql": _insert_postgresql}
_FAST_UPSERT = {"sqlite": _upsert_sqlite, "postgresql": _upsert_postgresql}


def chunks(frame: pd.DataFrame, size: int) -> Iterable[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]
