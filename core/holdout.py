"""The control group: a stable hash of campaign and customer decides who is held out."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

_SCALE = float(2**64)


def bucket(campaign_key: str, customer_id: str) -> float:
    """A number in [0, 1) fixed forever by the campaign key and the customer id."""
    digest = hashlib.blake2b(f"{campaign_key}\x1f{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def buckets(campaign_keys: pd.Series, customer_ids: pd.Series) -> np.ndarray:
    """`bucket` for each row; the same inputs give the same numbers on every run and machine."""
    pairs = zip(
        campaign_keys.astype(str).to_numpy(), customer_ids.astype(str).to_numpy(), strict=True
    )
    return np.fromiter((bucket(k, c) for k, c in pairs), dtype=float, count=len(customer_ids))


def is_holdout(campaign_keys: pd.Series, customer_ids: pd.Series, *, share: float) -> np.ndarray:
    """True for the customers held out of each campaign (about `share` of them)."""
    if share <= 0:
        return np.zeros(len(customer_ids), dtype=bool)
    return buckets(campaign_keys, customer_ids) < share


def campaign_key(campaign_type: str, week: str) -> str:
    """The hash key of one campaign: its type and ISO week, so a rerun of the week splits alike."""
    return f"{campaign_type}:{week}"
