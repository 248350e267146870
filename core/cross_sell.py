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

from core.codes import distinct, encode, encode_together, member

RULE_COLUMNS = ["anchor", "sku", "support", "confidence", "lift", "score", "rank"]


def _matrix(lines: pd.DataFrame) -> tuple[sparse.csr_matrix, pd.Index]:
    bought = lines.loc[lines["sku"].notna(), ["customer_id", "sku"]]
    # Customers in order of appearance, SKUs sorted; distinct pairs as integer keys.
    rows, customers = encode(bought["customer_id"])
    cols, skus = encode(bought["sku"], sort=True)
    width = np.int64(max(len(skus), 1))
    pairs = distinct(rows.astype(np.int64) * width + cols)
    rows, cols = pairs // width, pairs % width
    data = np.ones(len(pairs), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(customers), len(skus)))
    return matrix, pd.Index(skus)


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
    rules = rules[rules["lift"] >= min_lift]
    # Integer codes instead of merges on id strings: anchors x rules can be millions of rows.
    # Codes follow the sorted ids, so ordering by code is ordering by id.
    (customer_code, owner), _ = encode_together(anchors["customer_id"], bought["customer_id"])
    (rule_anchor, rule_sku, owned_sku), skus = encode_together(
        rules["anchor"], rules["sku"], bought["sku"]
    )
    n_anchors = len(anchors)
    # Each anchor row meets its anchor's rules in their order, as an inner merge would give.
    order = np.argsort(rule_anchor, kind="stable")
    starts = np.searchsorted(rule_anchor[order], np.arange(len(skus) + 1))
    anchor_code = skus.get_indexer(anchors["anchor"])
    found = anchor_code >= 0
    first = np.where(found, starts[np.maximum(anchor_code, 0)], 0)
    counts = np.where(found, starts[np.maximum(anchor_code, 0) + 1] - first, 0)
    row = np.repeat(np.arange(n_anchors), counts)
    rule = order[np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())]
    width = np.int64(len(skus) + 1)
    pair = customer_code[row].astype(np.int64) * width + rule_sku[rule]
    known = owned_sku >= 0
    owned = owner[known].astype(np.int64) * width + owned_sku[known]
    keep = ~member(pair, owned)
    row, rule = row[keep], rule[keep]
    rank_of_rule = rules["rank"].to_numpy()
    by = np.lexsort((rank_of_rule[rule], customer_code[row]))
    row, rule = row[by], rule[by]
    new_customer = np.ones(len(row), dtype=bool)
    new_customer[1:] = customer_code[row][1:] != customer_code[row][:-1]
    position = np.arange(len(row))
    rank = position - np.maximum.accumulate(np.where(new_customer, position, 0)) + 1
    top = rank <= k
    row, rule, rank = row[top], rule[top], rank[top]
    return pd.DataFrame(
        {
            "customer_id": anchors["customer_id"].to_numpy()[row],
            "anchor": anchors["anchor"].to_numpy()[row],
            "sku": rules["sku"].to_numpy()[rule],
            "lift": rules["lift"].to_numpy(dtype=float)[rule],
            "rank": rank.astype(np.int64),
        }
    )


def popular(lines: pd.DataFrame, *, k: int) -> list[str]:
    """The k SKUs bought by the most customers: the baseline any method must beat."""
    pairs = lines.loc[lines["sku"].notna(), ["customer_id", "sku"]].drop_duplicates()
    counts = pairs.groupby("sku").size().sort_values(ascending=False, kind="stable")
    return counts.index[:k].tolist()
