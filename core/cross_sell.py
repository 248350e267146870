"""Complementary products from co-purchases: association rules between SKUs bought by one customer.

Rules are ranked by confidence x log(1 + lift): lift alone rewards pairs of rare items seen
together once or twice, confidence alone recommends whatever is popular; the product keeps the
"bought together more than by chance" meaning of lift while preferring rules seen often
(bench/bench_crosssell.py compares it with popularity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

RULE_COLUMNS = ["anchor", "sku", "support", "confidence", "lift", "score", "rank"]


def _matrix(lines: pd.DataFrame) -> tuple[sparse.csr_matrix, pd.Index]:
    pairs = lines.loc[lines["sku"].notna(), ["customer_id", "sku"]].drop_duplicates()
    customers = pd.Index(pairs["customer_id"].unique())
    skus = pd.Index(np.sort(pairs["sku"].unique()))
    rows = customers.get_indexer(pairs["customer_id"])
    cols = skus.get_indexer(pairs["sku"])
    data = np.ones(len(pairs), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(customers), len(skus)))
    return matrix, skus


def association_rules(lines: pd.DataFrame, *, min_support: int = 3, top_k: int = 5) -> pd.DataFrame:
    """For each anchor SKU, the top_k rules a -> b seen in at least min_support customers.

    Over customers: confidence = P(b | a), lift = P(a and b) / (P(a) P(b)),
    score = confidence * log(1 + lift). `lines` needs customer_id and sku.
    """
    matrix, skus = _matrix(lines)
    if matrix.shape[0] == 0:
        return pd.DataFrame(columns=RULE_COLUMNS)
    together = (matrix.T @ matrix).tocoo()
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    keep = (together.row != together.col) & (together.data >= min_support)
    a, b, support = together.row[keep], together.col[keep], together.data[keep]
    n = float(matrix.shape[0])
    lift = support * n / (counts[a] * counts[b])
    confidence = support / counts[a]
    rules = pd.DataFrame(
        {
            "anchor": skus[a],
            "sku": skus[b],
            "support": support.astype(int),
            "confidence": confidence,
            "lift": lift,
            "score": confidence * np.log1p(lift),
        }
    )
    rules = rules.sort_values(
        ["anchor", "score", "support", "sku"], ascending=[True, False, False, True]
    )
    rules["rank"] = rules.groupby("anchor").cumcount() + 1
    return rules[rules["rank"] <= top_k].reset_index(drop=True)[RULE_COLUMNS]


def recommend(
    anchors: pd.DataFrame,
    rules: pd.DataFrame,
    *,
    bought: pd.DataFrame,
    k: int = 1,
    min_lift: float = 0.0,
) -> pd.DataFrame:
    """Up to k SKUs per customer from their anchor SKU's rules, skipping what they already bought.

    `anchors`: customer_id, anchor. `bought`: customer_id, sku. Returns customer_id, anchor, sku,
    lift, rank (1 = best).
    """
    candidates = anchors.merge(rules[rules["lift"] >= min_lift], on="anchor")
    owned = bought[["customer_id", "sku"]].drop_duplicates().assign(_owned=True)
    candidates = candidates.merge(owned, on=["customer_id", "sku"], how="left")
    candidates = candidates[candidates["_owned"].isna()].drop(columns="_owned")
    candidates = candidates.sort_values(["customer_id", "rank"])
    candidates["rank"] = candidates.groupby("customer_id").cumcount() + 1
    return candidates[candidates["rank"] <= k][["customer_id", "anchor", "sku", "lift", "rank"]]


def popular(lines: pd.DataFrame, *, k: int) -> list[str]:
    """The k SKUs bought by the most customers: the baseline any method must beat."""
    pairs = lines.loc[lines["sku"].notna(), ["customer_id", "sku"]].drop_duplicates()
    counts = pairs.groupby("sku").size().sort_values(ascending=False, kind="stable")
    return counts.index[:k].tolist()
