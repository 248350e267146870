"""Checks a file's rows against their contract, a whole column at a time, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import literal, select
from sqlalchemy.engine import Connection

from core.contracts import (
    EARLIEST_DATE,
    FUTURE_DAYS,
    IMPORT_TIME,
    TYPE_WORDS,
    Column,
    Contract,
    contract_for,
)
from core.errors import InvalidInput
from core.schema import metadata

MAX_LISTED = 20
LOOKUP_CHUNK = 5_000  # values per IN (...) query: well under SQLite's and PostgreSQL's limits
FIRST_DATA_ROW = 2  # the header is row 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (row as in the file, column) and why."""

    row: int | None
    column: str | None
    reason: str

    def describe(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else []
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where) or 'file'}: {self.reason}"


class ImportRejected(InvalidInput):
    """The file breaks its contract; nothing was written."""

    def __init__(self, file: str, problems: list[Problem], total: int):
        self.file = file
        self.problems = problems
        self.total = total
        count = f"{total} problem" + ("" if total == 1 else "s")
        shown = f", the first {len(problems)} listed" if total > len(problems) else ""
        lines = "\n".join(f"  {p.describe()}" for p in problems)
        super().__init__(f"{file} was rejected and nothing was imported ({count}{shown}):\n{lines}")


class Problems:
    """A count of every problem, and the first few of each check (enough to list the first 20)."""

    def __init__(self, keep: int = MAX_LISTED):
        self.keep = keep
        self.total = 0
        self._kept: list[Problem] = []

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, mask, column: str | None, reason: str, **values) -> None:
        """Record a problem for every row where mask holds; reason may use {name} of values."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(rows):
            return
        self.total += len(rows)
        arrays = {name: np.asarray(v, dtype=object) for name, v in values.items()}
        for i in rows[: self.keep]:
            shown = {name: _show(a[i]) for name, a in arrays.items()}
            self._kept.append(Problem(int(i) + FIRST_DATA_ROW, column, reason.format(**shown)))

    def one(self, row: int | None, column: str | None, reason: str) -> None:
        self.total += 1
        self._kept.append(Problem(row, column, reason))

    def first(self) -> list[Problem]:
        return sorted(self._kept, key=lambda p: p.row or 0)[: self.keep]

    def reject(self, file: str) -> ImportRejected:
        return ImportRejected(file, self.first(), self.total)


def _show(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_header(columns: list[str], contract: Contract, problems: Problems) -> None:
    """Every required column present, no column the contract does not know."""
    known = ", ".join(contract.names)
    for name in contract.required:
        if name not in columns:
            problems.one(1, name, f"the required column {name} is missing")
    for name in columns:
        if name not in contract.names:
            problems.one(
                1, name, f"unknown column {name!r}; the columns of {contract.kind} are: {known}"
            )
    seen = set()
    for name in columns:
        if name in seen:
            problems.one(1, name, f"the column {name} appears twice")
        seen.add(name)


def as_text(series: pd.Series, type_: str) -> pd.Series:
    """Every value as stripped text, None when empty (Parquet's typed columns included)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        text = series.dt.strftime("%Y-%m-%d" if type_ == "date" else "%Y-%m-%dT%H:%M:%S%z")
    elif pd.api.types.is_bool_dtype(series):
        text = series.map({True: "true", False: "false"})
    else:
        text = series.astype("string").str.strip()
    text = text.astype(object)
    return text.where(text.notna() & (text != ""), None)


BOOL_WORDS = {
    **dict.fromkeys(("true", "1", "yes", "1.0"), True),
    **dict.fromkeys(("false", "0", "no", "0.0"), False),
}


def parse_column(text: pd.Series, column: Column, problems: Problems, now: datetime) -> pd.Series:
    """The typed column; each value that breaks a rule becomes a problem (and is left empty)."""
    name, given = column.name, text.notna().to_numpy()
    if column.required:
        problems.add(~given, name, "a value is required")
    word = TYPE_WORDS[column.type]
    if column.type in ("int", "float"):
        number = pd.to_numeric(text, errors="coerce").astype(float)
        finite = np.isfinite(number.to_numpy())
        bad = given & ~finite
        if column.type == "int":
            whole = np.mod(np.where(finite, number.to_numpy(), 0.0), 1) == 0
            bad |= given & ~whole
        problems.add(bad, name, f"'{{value}}' is not a {word}", value=text)
        number = number.where(~bad)
        _check_range(number, column, problems)
        return number.astype("Int64") if column.type == "int" else number
    if column.type == "bool":
        flag = text.str.lower().map(BOOL_WORDS)
        problems.add(
            given & flag.isna().to_numpy(),
            name,
            "'{value}' is not true/false/yes/no/1/0",
            value=text,
        )
        return flag.astype("boolean")
    if column.type in ("date", "datetime"):
        if column.type == "date":
            when = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            latest = pd.Timestamp(now.date()) + timedelta(days=FUTURE_DAYS)
            earliest = pd.Timestamp(EARLIEST_DATE)
        else:
            when = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
            latest = pd.Timestamp(now) + timedelta(days=FUTURE_DAYS)
            earliest = pd.Timestamp(EARLIEST_DATE, tz="UTC")
        problems.add(
            given & when.isna().to_numpy(), name, f"'{{value}}' is not a {word}", value=text
        )
        problems.add(
            (when > latest).to_numpy(),
            name,
            f"{{value}} is after {_show(latest)}, too far ahead",
            value=when,
        )
        problems.add(
            (when < earliest).to_numpy(), name, f"{{value}} is before {EARLIEST_DATE}", value=when
        )
        return when
    # str. PostgreSQL text cannot hold a NUL character, and no id or name needs one: a file
    # with NULs in its text is binary or wrongly encoded. Left empty, so no query sees them.
    nul = text.str.contains("\x00", regex=False).astype("boolean").fillna(False)
    problems.add(nul.to_numpy(dtype=bool), name, "the value holds a NUL character (binary data?)")
    text = text.where(~nul.to_numpy(dtype=bool), None)
    if column.choices:
        text = text.str.lower()
        bad = given & ~text.isin(column.choices).to_numpy()
        problems.add(
            bad, name, f"'{{value}}' is not one of {', '.join(column.choices)}", value=text
        )
    if column.pattern:
        fits = (
            text.str.fullmatch(column.pattern).astype("boolean").fillna(False).to_numpy(dtype=bool)
        )
        problems.add(
            given & ~fits, name, "'{value}' does not look like an e-mail address", value=text
        )
    return text


def _check_range(number: pd.Series, column: Column, problems: Problems) -> None:
    values = number.to_numpy()
    with np.errstate(invalid="ignore"):
        if column.minimum is not None:
            below = values < column.minimum
            reason = (
                "{value} is negative"
                if column.minimum == 0
                else f"{{value}} is below {column.minimum:g}"
            )
            if column.note and "negative" in column.note:
                reason += f"; {column.note}"
            problems.add(below, column.name, reason, value=number)
        if column.maximum is not None:
            problems.add(
                values > column.maximum,
                column.name,
                f"{{value}} is above {column.maximum:g}",
                value=number,
            )


def parse_frame(
    raw: pd.DataFrame, contract: Contract, problems: Problems, now: datetime
) -> pd.DataFrame:
    """The typed frame of the columns given; empty optional cells take their default."""
    typed = {}
    for column in contract.columns:
        if column.name not in raw.columns:
            continue
        values = _parse_distinct(raw[column.name], column, problems, now)
        default = now if column.default == IMPORT_TIME else column.default
        if default is not None and not column.required:
            values = values.fillna(default)
        typed[column.name] = values
    return pd.DataFrame(typed, index=pd.RangeIndex(len(raw)))


def _parse_distinct(raw: pd.Series, column: Column, problems: Problems, now: datetime) -> pd.Series:
    """parse_column over the column's distinct values, spread over the rows (a file repeats its
    dates, amounts and customers: 10M order lines hold a few thousand distinct dates and
    amounts). When a value breaks a rule, the rows are parsed one by one instead, so that each
    problem names its rows. Text comes back arrow-backed ("string"), whichever way it went."""
    codes, distinct = pd.factorize(raw, use_na_sentinel=False)
    if len(distinct) <= len(raw) // 2:
        found = Problems()
        parsed = _arrow_text(
            parse_column(as_text(pd.Series(distinct), column.type), column, found, now)
        )
        if not found:
            return pd.Series(parsed.array.take(codes), index=raw.index, name=raw.name)
    return _arrow_text(parse_column(as_text(raw, column.type), column, problems, now))


def _arrow_text(values: pd.Series) -> pd.Series:
    """Parsed text as "string" (arrow-backed: ~3x faster to group, match and sort than objects)."""
    return values.astype("string") if values.dtype == object else values


def check_rows(frame: pd.DataFrame, contract: Contract, problems: Problems) -> None:
    """Rules between the columns of one row, and keys repeated within the file."""
    for rule in contract.date_orders:
        if rule.later in frame and rule.earlier in frame:
            later, earlier = frame[rule.later], frame[rule.earlier]
            problems.add(
                (later < earlier).to_numpy(),
                rule.later,
                f"{rule.later} {{later}} is before {rule.earlier} {{earlier}}",
                later=later,
                earlier=earlier,
            )
    check_duplicates(frame, list(contract.primary_key), problems)


def check_duplicates(frame: pd.DataFrame, key: list[str], problems: Problems) -> None:
    if not set(key) <= set(frame.columns) or frame.empty:
        return
    keys = frame[key]
    repeated = keys.duplicated(keep="first").to_numpy() & keys.notna().all(axis=1).to_numpy()
    if not repeated.any():
        return
    group = keys.groupby(key, sort=False, dropna=False).ngroup()
    first = pd.Series(np.arange(len(frame)), index=frame.index).groupby(group).transform("min")
    problems.add(
        repeated,
        "+".join(key),
        "repeats the key of row {first} ({value})",
        first=first + FIRST_DATA_ROW,
        value=keys.astype(str).agg(", ".join, axis=1) if len(key) > 1 else keys[key[0]],
    )


def lookup(
    conn: Connection, table: str, key: str, values, columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The rows of a table whose key is among the values (set-based, in chunks), key and columns."""
    target = metadata.tables[table]
    names = [key, *columns]
    if is_empty(conn, target):
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    unique = pd.unique(pd.Series(values).dropna())
    if not len(unique):
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    quote = conn.dialect.identifier_preparer.quote
    wanted = f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(target.name)}"
    plain = [v.item() if hasattr(v, "item") else v for v in unique.tolist()]
    cursor = conn.connection.driver_connection.cursor()
    parts = []
    try:
        if conn.dialect.name == "postgresql":
            # One array parameter per chunk: no statement with thousands of placeholders.
            sql = f"{wanted} WHERE {quote(key)} = ANY(%s)"
            for start in range(0, len(plain), LOOKUP_CHUNK * 10):
                cursor.execute(sql, (plain[start : start + LOOKUP_CHUNK * 10],))
                parts.append(pd.DataFrame(cursor.fetchall(), columns=names, dtype=object))
        else:
            for start in range(0, len(plain), LOOKUP_CHUNK):
                chunk = plain[start : start + LOOKUP_CHUNK]
                marks = ", ".join("?" * len(chunk))
                cursor.execute(f"{wanted} WHERE {quote(key)} IN ({marks})", chunk)
                parts.append(pd.DataFrame(cursor.fetchall(), columns=names, dtype=object))
    finally:
        cursor.close()
    found = pd.concat(parts, ignore_index=True)
    return _stored_types(found, target, conn.dialect)


def _stored_types(found: pd.DataFrame, target, dialect) -> pd.DataFrame:
    """The driver's values as SQLAlchemy would return them (dates as dates on SQLite, ...).

    psycopg already returns PostgreSQL's values as Python's (dates, floats, flags).
    """
    if dialect.name != "sqlite":
        return found
    for name in found.columns:
        process = target.c[name].type._cached_result_processor(dialect, None)
        if process is not None and len(found):
            found[name] = pd.Series(
                [process(v) for v in found[name].tolist()], index=found.index, dtype=object
            )
    return found


def is_empty(conn: Connection, target) -> bool:
    """Whether the table has no rows (a first import into it needs no lookup at all)."""
    return conn.execute(select(literal(1)).select_from(target).limit(1)).first() is None


def check_references(
    conn: Connection, frame: pd.DataFrame, contract: Contract, problems: Problems
) -> None:
    """Foreign keys known in the database (or in the file itself), and dates against the rows they name."""
    for column in contract.columns:
        if column.references is None or column.name not in frame:
            continue
        kind, key = column.references
        values = frame[column.name]
        known = lookup(conn, contract_for(kind).table, key, values)[key]
        if kind == contract.kind:
            known = pd.concat([known, frame[key]])
        unknown = values.notna().to_numpy() & ~values.isin(known).to_numpy()
        problems.add(
            unknown,
            column.name,
            f"'{{value}}' is not a known {key} (not in {kind}{' or this file' if kind == contract.kind else ''})",
            value=values,
        )
    for rule in contract.foreign_date_orders:
        if rule.column not in frame or rule.via not in frame:
            continue
        other = contract_for(rule.kind)
        found = lookup(conn, other.table, other.primary_key[0], frame[rule.via], (rule.other,))
        then = frame[rule.via].map(found.set_index(other.primary_key[0])[rule.other])
        then = pd.to_datetime(then)
        when = frame[rule.column]
        problems.add(
            (when < then).to_numpy(),
            rule.column,
            f"{{when}} is before the {rule.kind} {rule.other} {{then}}",
            when=when,
            then=then,
        )
