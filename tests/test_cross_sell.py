import pandas as pd

from core import cross_sell


def _lines(baskets):
    return pd.DataFrame(
        [(c, s) for c, skus in baskets.items() for s in skus], columns=["customer_id", "sku"]
    )


BASKETS = {
    "c1": ["acrylic", "canvas"],
    "c2": ["acrylic", "canvas"],
    "c3": ["acrylic", "canvas", "brush"],
    "c4": ["acrylic", "easel"],
    "c5": ["brush"],
    "c6": ["brush"],
    "c7": ["brush", "easel"],
}


def test_canvas_is_the_complement_of_acrylics():
    rules = cross_sell.association_rules(_lines(BASKETS), min_support=2)
    top = rules[(rules["anchor"] == "acrylic") & (rules["rank"] == 1)]
    assert top["sku"].tolist() == ["canvas"]
    assert top["lift"].iloc[0] > 1


def test_rare_pairs_below_support_are_dropped():
    rules = cross_sell.association_rules(_lines(BASKETS), min_support=2)
    assert not ((rules["anchor"] == "acrylic") & (rules["sku"] == "easel")).any()


def test_recommend_skips_what_the_customer_already_bought():
    rules = cross_sell.association_rules(_lines(BASKETS), min_support=1)
    anchors = pd.DataFrame({"customer_id": ["c4", "c9"], "anchor": ["acrylic", "acrylic"]})
    bought = pd.DataFrame({"customer_id": ["c9"], "sku": ["canvas"]})
    recs = cross_sell.recommend(anchors, rules, bought=bought, k=1).set_index("customer_id")
    assert recs.loc["c4", "sku"] == "canvas"
    assert recs.loc["c9", "sku"] != "canvas"


def test_popular_ranks_by_customers():
    assert cross_sell.popular(_lines(BASKETS), k=2) == ["acrylic", "brush"]


def test_no_lines_no_rules():
    empty = pd.DataFrame(columns=["customer_id", "sku"])
    assert cross_sell.association_rules(empty).empty
