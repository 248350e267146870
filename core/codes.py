"""Set operations on integer key arrays by sorting.

numpy 2's `np.unique` (values only) and `np.isin` go through a hash table that is many times
slower than a sort on millions of int64 keys; these give the same answers by sorting.
"""

from __future__ import annotations

import numpy as np


def distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, sorted (as `np.unique(keys)`)."""
    ordered = np.sort(np.asarray(keys), kind="stable")
    if len(ordered) == 0:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def member(keys: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """True where the key is one of `allowed` (as `np.isin(keys, allowed)`)."""
    keys = np.asarray(keys)
    allowed = distinct(allowed)
    found = np.zeros(len(keys), dtype=bool)
    if len(keys) == 0 or len(allowed) == 0:
        return found
    # Looking up the keys in sorted order walks `allowed` once instead of jumping about.
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    at = np.minimum(np.searchsorted(allowed, ordered), len(allowed) - 1)
    found[order] = allowed[at] == ordered
    return found
