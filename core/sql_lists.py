"""`column IN (values)` for lists of any length, on SQLite and PostgreSQL.

A long IN list costs one bound value per item: PostgreSQL refuses more than 65,535 of them and
its driver parses such a statement in Python on every execution. On PostgreSQL the list goes
as one array value instead (`column = ANY(:values)`); on SQLite it is cut into pieces.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

# Values per IN list on SQLite (well within its limit on bound values).
PIECE = 5000


def among(conn: Connection, column: Any, values: Sequence) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select the rows whose `column` is in `values` (none if empty)."""
    values = list(values)
    if not values:
        return
    if conn.dialect.name == "postgresql":
        yield column == any_(bindparam(None, values, type_=ARRAY(column.type)))
        return
    for start in range(0, len(values), PIECE):
        yield column.in_(values[start : start + PIECE])
