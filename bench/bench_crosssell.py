"""Offline check of the cross-sell method: hit rate and recall@k against a popularity baseline.

    python bench/bench_crosssell.py [--customers 20000] [--k 1 3 5]

On demo data: rules are learnt from orders before a cut-off date; for each customer who buys
something new in the following 90 days, we recommend k SKUs from their last SKU before the
cut-off (association rules ranked by confidence x log(1 + lift)), or the k most popular SKUs
they do not own yet, and count a hit when a recommended SKU is among those new purchases.
Recall@k = share of the new SKUs that were recommended.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import cross_sell, demo


def _lines(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    orders = frames["orders"][frames["orders"]["status"] != "cancelled"]
    lines = frames["order_lines"].merge(
        orders[["order_id", "customer_id", "ordered_date"]], on="order_id"
    )
    lines["ordered_date"] = pd.to_datetime(lines["ordered_date"])
    return lines[["customer_id", "order_id", "ordered_date", "sku", "quantity"]]


def evaluate(
    lines: pd.DataFrame, cut: date, ks: list[int], *, min_support: int = 3
) -> pd.DataFrame:
    before = lines[lines["ordered_date"] < pd.Timestamp(cut)]
    after = lines[
        (lines["ordered_date"] >= pd.Timestamp(cut))
        & (lines["ordered_date"] < pd.Timestamp(cut + timedelta(days=90)))
    ]
    owned = before[["customer_id", "sku"]].drop_duplicates()
    new = (
        after[["customer_id", "sku"]]
        .drop_duplicates()
        .merge(owned.assign(_o=1), how="left", on=["customer_id", "sku"])
    )
    new = new[new["_o"].isna()][["customer_id", "sku"]]
    anchors = before.sort_values("ordered_date").drop_duplicates("customer_id", keep="last")[
        ["customer_id", "sku"]
    ]
    anchors = anchors[anchors["customer_id"].isin(new["customer_id"])].rename(
        columns={"sku": "anchor"}
    )
    rules = cross_sell.association_rules(before, min_support=min_support, top_k=max(ks))
    popular = cross_sell.popular(before, k=max(ks) + 50)
    rows = []
    for k in ks:
        lift = cross_sell.recommend(anchors, rules, bought=before, k=k)[["customer_id", "sku"]]
        # Popularity: the k most popular SKUs each customer does not own yet.
        pop = anchors[["customer_id"]].merge(
            pd.DataFrame({"sku": popular, "rank": range(len(popular))}), how="cross"
        )
        pop = pop.merge(owned.assign(_o=1), how="left", on=["customer_id", "sku"])
        pop = (
            pop[pop["_o"].isna()]
            .sort_values(["customer_id", "rank"])
            .groupby("customer_id")
            .head(k)
        )
        for name, recs in (
            ("association rules", lift),
            ("popularity", pop[["customer_id", "sku"]]),
        ):
            hits = recs.merge(new, on=["customer_id", "sku"])
            customers = anchors["customer_id"].nunique()
            rows.append(
                {
                    "method": name,
                    "k": k,
                    "customers": customers,
                    "covered": recs["customer_id"].nunique(),
                    "hit_rate": hits["customer_id"].nunique() / customers,
                    "recall": len(hits) / len(new[new["customer_id"].isin(anchors["customer_id"])]),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    args = parser.parse_args()
    end = date(2026, 6, 14)
    frames = demo.generate(customers=args.customers, seed=args.seed, end_date=end)
    lines = _lines(frames)
    result = evaluate(lines, end - timedelta(days=90), args.k)
    print(f"customers={args.customers} seed={args.seed} cut-off={end - timedelta(days=90)}")
    print(result.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
