"""The control group: a stable hash of campaign and customer decides who is held out."""

from __future__ import annotations

from hashlib import blake2b

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.reading import arrow_strings

_SCALE = float(2**64)
_SEPARATOR = "\x1f"


def bucket(campaign_key: str, customer_id: str) -> float:
    """A number in [0, 1) fixed forever by the campaign key and the customer id."""
    digest = blake2b(f"{campaign_key}{_SEPARATOR}{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def buckets(campaign_keys: pd.Series, customer_ids: pd.Series) -> np.ndarray:
    """`bucket` for each row; the same inputs give the same numbers on every run and machine.

    The messages are joined and encoded column-wise, the 8-byte digests gathered into one
    buffer and read as big-endian integers: only the hash itself runs once per row.
    """
    if len(customer_ids) == 0:
        return np.zeros(0, dtype=float)
    separator = pa.scalar(_SEPARATOR, pa.large_string())
    messages = pc.binary_join_element_wise(
        arrow_strings(campaign_keys), arrow_strings(customer_ids), separator
    ).cast(pa.large_binary())
    digests = b"".join([blake2b(m, digest_size=8).digest() for m in messages.to_pylist()])
    return np.frombuffer(digests, dtype=">u8").astype(float) / _SCALE


def is_holdout(campaign_keys: pd.Series, customer_ids: pd.Series, *, share: float) -> np.ndarray:
    """True for the customers held out of each campaign (about `share` of them)."""
    if share <= 0:
        return np.zeros(len(customer_ids), dtype=bool)
    return buckets(campaign_keys, customer_ids) < share


def campaign_key(campaign_type: str, week: str) -> str:
    """The hash key of one campaign: its type and ISO week, so a rerun of the week splits alike."""
    return f"{campaign_type}:{week}"
