"""CSV cells a spreadsheet will not run: the one guard every CSV export goes through.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by Excel, LibreOffice and Google Sheets (`=HYPERLINK("http://evil", "Click")` in a customer's
name). Such a cell gets a leading apostrophe, as OWASP advises: the spreadsheet shows the text
as written and runs nothing. Numbers (also negative ones, and text that is just a number) are
left alone, so the figures stay figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """The value, with an apostrophe in front if it is text a spreadsheet would run."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """A row for csv.writer with every cell neutralised."""
    return [neutralise(v) for v in values]


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame whose text cells and headers are neutralised (other columns as they are)."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            safe[column] = values.map(neutralise)  # mixed values: cell by cell
            continue
        # Column-wise (exports run to a million rows): only the risky cells are touched.
        risky = values.str.startswith(FORMULA_STARTS, na=False)
        if risky.any():
            risky &= ~values.str.fullmatch(_PLAIN_NUMBER.pattern, na=False)
            safe[column] = values.where(~risky, "'" + values[risky])
    safe.columns = [neutralise(c) for c in safe.columns]
    return safe
