"""Import a CSV or Parquet file of one kind: read, check everything, then write it all in one go."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime
from hashlib import sha1
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy.engine import Connection, Engine

from core import audit
from core.bulk import gather_statistics, indexes_set_aside, large_cache, write_frame
from core.contracts import CONTRACTS, IMPORT_TIME, Contract, contract_for
from core.db import session_scope
from core.import_checks import (
    ImportRejected,
    Problem,
    Problems,
    check_header,
    check_references,
    check_rows,
    is_empty,
    lookup,
    parse_frame,
)
from core.roles import Actor, Permission, require
from core.schema import metadata

log = logging.getLogger(__name__)

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

# progress(rows_just_written, rows_to_write_in_all)
Progress = Callable[[int, int], None]

__all__ = ["ImportRejected", "ImportResult", "Problem", "import_file", "read_table"]


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: rows in the file, rows new to the database, rows updated."""

    kind: str
    file: str
    rows: int
    inserted: int
    updated: int
    customers_created: int = 0  # transactions only

    def describe(self) -> str:
        text = f"{self.file}: {self.rows} {self.kind} rows, {self.inserted} new, {self.updated} updated"
        if self.kind == "transactions":
            text += f", {self.customers_created} customers created"
        return text + "."


def _rejected(path: Path, reason: str) -> ImportRejected:
    return ImportRejected(path.name, [Problem(None, None, reason)], 1)


def read_table(path: Path) -> pd.DataFrame:
    """The file as a frame of raw values (CSV: all text); a readable rejection when it cannot be read."""
    path = Path(path)
    form = SUFFIXES.get(path.suffix.lower())
    if form is None:
        raise _rejected(
            path, f"unsupported file type {path.suffix or '(none)'!r}; use .csv or .parquet"
        )
    if not path.is_file():
        raise _rejected(path, "no such file")
    try:
        if form == "csv":
            frame = _read_csv(path)
            if not isinstance(frame.index, pd.RangeIndex):
                # pandas takes the extra leading values of a row wider than the header for an
                # index, which would shift every value one column to the right.
                raise _rejected(path, "row 2 has more values than the header has columns")
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise _rejected(path, "the file is empty (no header row)") from None
    except UnicodeDecodeError:
        raise _rejected(path, "the file is not UTF-8 text") from None
    except (pd.errors.ParserError, pa.ArrowException, OSError, ValueError) as error:
        raise _rejected(path, f"the file could not be read: {error}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if frame.empty:
        raise _rejected(path, "the file has no data rows")
    return frame.reset_index(drop=True)


def _read_csv(path: Path) -> pd.DataFrame:
    """Every cell as text, empty ones as "" ("NA" is a region, "null" a name).

    Arrow reads a well-formed file on every core (10M lines: 2 s instead of 10); a file it
    will not read as pandas would (a row of the wrong width, text that is not UTF-8, a quote
    left open, a column named twice, ...) is read by pandas, which says what is wrong with it.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            names = next(csv.reader(file), [])
        data = path.read_bytes()
        # A quote left open: arrow would take the cut-off last value as it is.
        if names and len(set(names)) == len(names) and data.count(b'"') % 2 == 0:
            table = pa_csv.read_csv(
                pa.BufferReader(data),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string())
                ),
            )
            if table.column_names == names:
                return table.to_pandas()
    except (UnicodeDecodeError, csv.Error, pa.ArrowException):
        pass
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def import_file(
    engine: Engine,
    *,
    kind: str,
    path: str | Path,
    actor: Actor,
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file, then upsert it in one transaction with one audit event; or reject it."""
    require(actor, Permission.IMPORT_DATA)
    contract = contract_for(kind)
    path = Path(path)
    raw = read_table(path)
    problems = Problems()
    check_header(list(raw.columns), contract, problems)
    if problems:
        raise problems.reject(path.name)
    frame = parse_frame(raw, contract, problems, now)
    present = set(raw.columns)
    del raw
    if kind == "transactions":
        frame = with_order_ids(frame)
        present.add("order_id")
    check_rows(frame, contract, problems)
    with session_scope(engine) as session:
        conn = session.connection()
        check_references(conn, frame, contract, problems)
        if problems:
            raise problems.reject(path.name)
        log.info("%s: %d %s rows valid, writing", path.name, len(frame), kind)
        with large_cache(conn):
            if kind == "transactions":
                result = _write_transactions(conn, frame, path.name, now, progress)
            else:
                inserted, updated = _upsert(
                    conn, contract, frame, present, now, _counter(progress, len(frame))
                )
                result = ImportResult(kind, path.name, len(frame), inserted, updated)
        written = ("customers", "orders", "order_lines") if kind == "transactions" else ()
        gather_statistics(conn, written or (contract.table,), rows=len(frame))
        after = {k: v for k, v in asdict(result).items() if k != "kind"}
        if kind != "transactions":
            del after["customers_created"]
        audit.record(
            session,
            actor=actor,
            action="data.import",
            entity_type=kind,
            entity_id=path.name,
            after=after,
            now=now,
        )
    return result


def _counter(progress: Progress | None, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda step: progress(step, total)


def _upsert(
    conn: Connection,
    contract: Contract,
    frame: pd.DataFrame,
    present: set[str],
    now: datetime,
    progress: Callable[[int], None] | None,
) -> tuple[int, int]:
    """Write the frame; a column absent from the file keeps its stored value on rows that exist."""
    merged, exists = _complete(conn, contract, frame, present, now)
    table = metadata.tables[contract.table]
    stored = exists.to_numpy()
    # New rows go in plainly (the fast path); only the rows that exist are upserted.
    _insert(conn, table, merged.loc[~stored], progress)
    if stored.any():
        write_frame(conn, table, merged.loc[stored], update=True, progress=progress)
    updated = int(stored.sum())
    return len(merged) - updated, updated


def _insert(conn: Connection, table, frame: pd.DataFrame, progress) -> None:
    """Insert new rows; into an empty table, with its secondary indexes built after the rows."""
    aside = indexes_set_aside(conn, table) if is_empty(conn, table) else nullcontext()
    with aside:
        write_frame(conn, table, frame, update=False, progress=progress)


def _complete(
    conn: Connection, contract: Contract, frame: pd.DataFrame, present: set[str], now: datetime
) -> tuple[pd.DataFrame, pd.Series]:
    """Fill the columns the file left out: the stored value where the row exists, else the default."""
    keys = list(contract.primary_key)
    absent = [c for c in contract.columns if c.name not in present]
    stored = lookup(
        conn, contract.table, keys[0], frame[keys[0]], (*keys[1:], *(c.name for c in absent))
    )
    if stored.empty:
        # Nothing stored yet (a first import): every row is new, no merge needed.
        merged = frame.reset_index(drop=True)
        exists = pd.Series(False, index=merged.index)
    else:
        for key in keys:
            stored[key] = stored[key].astype(frame[key].dtype)
        stored["_stored"] = True
        merged = frame.merge(stored, on=keys, how="left", suffixes=("", "_old"))
        exists = merged["_stored"].fillna(False).astype(bool)
    for column in absent:
        if column.default == IMPORT_TIME:
            # A time stamp of the row itself: this import is its newest version.
            merged[column.name] = pd.Series(now, index=merged.index, dtype=object)
            continue
        if column.name not in merged:  # nothing stored: the default everywhere
            merged[column.name] = pd.Series(column.default, index=merged.index, dtype=object)
            continue
        stored_values = merged[column.name].astype(object)
        merged[column.name] = stored_values.where(exists, column.default)
    return _typed(merged[[c for c in contract.names if c in merged]], contract), exists


DTYPES = {"str": "string", "int": "Int64", "float": "float64", "bool": "boolean"}


def _typed(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Nullable dtypes per column, so that the writer gets fresh arrays and never plain objects."""
    dtypes = {
        c.name: DTYPES[c.type] for c in contract.columns if c.name in frame and c.type in DTYPES
    }
    return frame.astype(dtypes)


def with_order_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Give each transaction without order_id a stable one derived from its content.

    The id hashes customer_id, date, amount and quantity with the row's occurrence among
    identical rows, so two identical purchases stay two orders and a re-import of the same
    rows finds the same ids (and updates instead of duplicating).
    """
    frame = frame.copy()
    if "quantity" not in frame:
        frame["quantity"] = pd.array([1] * len(frame), dtype="Int64")
    # Missing values (rejected later by the row checks) hash as empty text instead of failing.
    # Each part's text is made once per distinct value (a file repeats its values).
    parts = [
        _each_distinct(frame["customer_id"], lambda c: c.astype(str).fillna("")),
        _each_distinct(frame["date"], lambda d: d.dt.strftime("%Y-%m-%d").fillna("")),
        _each_distinct(frame["amount"], lambda a: pd.Series(map(repr, a.tolist()))),
        _each_distinct(frame["quantity"], lambda q: q.astype(str).fillna("")),
    ]
    occurrence = _occurrence(_row_groups([codes for codes, _ in parts]))
    texts = [text.take(codes) for codes, text in parts]
    occurrence_text = pa.array(occurrence).cast(pa.large_string())
    message = pc.binary_join_element_wise(
        *texts, occurrence_text, pa.scalar("\x1f", pa.large_string())
    )
    derived = pd.Series(_derived_ids(message), index=frame.index)
    if "order_id" not in frame:
        frame["order_id"] = derived
        return frame
    given = frame["order_id"]
    frame["order_id"] = given.where(given.notna(), derived)
    return frame


def _row_groups(codes: list[np.ndarray]) -> np.ndarray:
    """One number per distinct combination of the parts' codes (one per row each): the codes
    as digits of a mixed-radix number, renumbered only where the next digit would overflow."""
    groups = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    span = 1  # groups < span
    for own in codes:
        base = int(own.max(initial=0)) + 1
        if span * base >= 2**62:
            groups, distinct = pd.factorize(groups)
            span = len(distinct)
        groups = groups * base + own
        span *= base
    return groups


def _occurrence(codes: np.ndarray) -> np.ndarray:
    """Each row's count of rows of its group before it (0 for the first), like cumcount, faster."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    position = np.arange(len(codes))
    starts = np.r_[True, ordered[1:] != ordered[:-1]] if len(codes) else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, position, 0))
    occurrence = np.empty(len(codes), dtype=np.int64)
    occurrence[order] = position - first
    return occurrence


def _derived_ids(message: pa.Array) -> pd.Series:
    """ "tx-" and the first 20 hex digits of each message's SHA-1 (UTF-8), as "string" (arrow).

    Only the hashing is a loop; the text is joined, encoded and spelled out in hex by arrow and
    numpy (about 3x faster than a loop that formats each id).
    """
    texts = message.cast(pa.large_binary())
    digests = b"".join([sha1(m, usedforsecurity=False).digest() for m in texts.to_pylist()])
    head = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 20)[:, :10]
    text = np.empty((len(head), 23), dtype=np.uint8)
    text[:, :3] = np.frombuffer(b"tx-", dtype=np.uint8)
    text[:, 3::2] = _HEX[head >> 4]
    text[:, 4::2] = _HEX[head & 15]
    ids = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(23), len(head), [None, pa.py_buffer(text.tobytes())]
    )
    return pd.array(ids.cast(pa.binary()).cast(pa.large_string()), dtype="string")


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _each_distinct(
    values: pd.Series, text: Callable[[pd.Series], pd.Series]
) -> tuple[np.ndarray, pa.Array]:
    """text() of each distinct value, made once: per row the code of its text, and the texts."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    shown = text(pd.Series(distinct)).to_numpy(dtype=object)
    # Two values may show as one text (missing ones as ""): one code per text.
    own, texts = pd.factorize(shown)
    return own[codes], pa.array(np.asarray(texts, dtype=object), type=pa.large_string())


def _sort_key(texts: pd.Series) -> np.ndarray:
    """A number per text that orders the texts as their first 8 bytes after the prefix all
    share ("tx-" for derived ids) do: key order but for rare ties, in a fraction of the time
    of sorting the texts (10M ids: about 1 s instead of 8)."""
    values = pa.array(texts.array)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.large_binary())
    key = np.zeros(len(values), dtype=np.uint64)
    if len(values) == 0:
        return key
    low, high = (v.as_py() or b"" for v in pc.min_max(values).values())
    start = len(os.path.commonprefix([low, high]))  # noqa: RUF071 (bytes, byte by byte)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset :]
    begins, ends = offsets[: len(values)] + start, offsets[1 : len(values) + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    for at in range(8):
        inside = begins + at < ends
        byte = np.where(inside, data[np.minimum(begins + at, len(data) - 1)], 0)
        key = (key << np.uint64(8)) | byte.astype(np.uint64)
    return key


def _write_transactions(
    conn: Connection, frame: pd.DataFrame, file: str, now: datetime, progress: Progress | None
) -> ImportResult:
    """New customers, one order per row and one line per order without SKU."""
    known = lookup(conn, "customers", "customer_id", frame["customer_id"])["customer_id"]
    unknown = ~frame["customer_id"].isin(known).to_numpy()
    # Each new customer's first order date, customers in the order the file first names them;
    # grouped by integer codes (about 10x faster than by the ids' text at 10M lines).
    codes, new_ids = pd.factorize(frame["customer_id"].array[unknown])
    first_dates = frame["date"].iloc[unknown].groupby(codes).min()
    defaults = {c.name: c.default for c in CONTRACTS["customers"].columns if c.default is not None}
    customers = pd.DataFrame(
        {"customer_id": new_ids, "signup_date": first_dates.to_numpy(), **defaults}
    )
    customers = _typed(customers, CONTRACTS["customers"])
    orders = pd.DataFrame(
        {
            "order_id": frame["order_id"],
            "customer_id": frame["customer_id"],
            "ordered_date": frame["date"],
            "amount": frame["amount"],
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": frame["order_id"],
            "line_no": pd.array([1] * len(frame), dtype="Int64"),
            "quantity": frame["quantity"],
            "unit_price": frame["amount"] / frame["quantity"].astype(float),
        }
    )
    # In key order, each new key goes at the end of the key's index and each order line finds
    # its order next to the last one: ~2x faster writes into SQLite than in the file's order.
    by_key = np.argsort(_sort_key(frame["order_id"]))
    orders = orders.iloc[by_key].reset_index(drop=True)
    lines = lines.iloc[by_key].reset_index(drop=True)
    total = len(customers) + len(orders) + len(lines)
    step = _counter(progress, total)
    _insert(conn, metadata.tables["customers"], customers, step)
    inserted, updated = _upsert(conn, CONTRACTS["orders"], orders, set(orders.columns), now, step)
    _upsert(conn, CONTRACTS["order_lines"], lines, set(lines.columns), now, step)
    return ImportResult("transactions", file, len(frame), inserted, updated, len(customers))
