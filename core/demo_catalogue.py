"""The demo marketplace's catalogue: suppliers, products and the weeks each SKU was out of stock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# category -> product lines: (line, consumable, typical replenishment days, low price, high price)
CATALOGUE: dict[str, list[tuple[str, bool, int, float, float]]] = {
    "paints": [
        ("acrylic", True, 60, 4, 35),
        ("watercolour", True, 90, 5, 45),
        ("oil", True, 100, 6, 60),
        ("gouache", True, 90, 5, 30),
    ],
    "brushes": [
        ("synthetic brushes", False, 0, 3, 25),
        ("sable brushes", False, 0, 12, 70),
        ("hog bristle brushes", False, 0, 4, 30),
        ("brush sets", False, 0, 10, 55),
    ],
    "canvas and paper": [
        ("stretched canvas", True, 75, 5, 60),
        ("canvas panels", True, 75, 3, 25),
        ("sketchbooks", True, 90, 4, 30),
        ("watercolour paper", True, 60, 6, 40),
    ],
    "drawing": [
        ("graphite pencils", True, 120, 2, 25),
        ("coloured pencils", True, 120, 5, 80),
        ("charcoal", True, 60, 2, 18),
        ("markers", True, 90, 3, 90),
        ("ink", True, 100, 4, 25),
    ],
    "yarn and textiles": [
        ("wool yarn", True, 45, 3, 18),
        ("cotton yarn", True, 45, 2, 12),
        ("embroidery thread", True, 60, 1, 15),
        ("fabric", True, 75, 4, 30),
    ],
    "clay and sculpting": [
        ("air-dry clay", True, 60, 4, 25),
        ("polymer clay", True, 60, 2, 20),
        ("modelling tools", False, 0, 5, 40),
    ],
    "glues and adhesives": [
        ("pva glue", True, 60, 2, 15),
        ("glue sticks", True, 45, 1, 10),
        ("hot glue", True, 90, 3, 30),
        ("spray adhesive", True, 90, 6, 20),
    ],
    "tools": [
        ("cutting mats", False, 0, 6, 40),
        ("craft knives", False, 0, 3, 25),
        ("easels", False, 0, 25, 180),
        ("palettes", False, 0, 3, 30),
        ("scissors", False, 0, 4, 35),
    ],
    "kits": [
        ("painting kits", False, 0, 15, 80),
        ("knitting kits", False, 0, 15, 60),
        ("pottery kits", False, 0, 20, 90),
        ("kids craft kits", False, 0, 10, 45),
    ],
}
CATEGORY_SHARE = {
    "paints": 0.2,
    "brushes": 0.09,
    "canvas and paper": 0.14,
    "drawing": 0.13,
    "yarn and textiles": 0.14,
    "clay and sculpting": 0.07,
    "glues and adhesives": 0.08,
    "tools": 0.08,
    "kits": 0.07,
}
CATEGORIES = list(CATALOGUE)
_ADJECTIVES = np.array(
    ["Studio", "Artist", "Student", "Pro", "Classic", "Essential", "Premium", "Heritage", "Bright"]
)
_VARIANTS = np.array(
    [
        "red",
        "blue",
        "yellow",
        "green",
        "white",
        "black",
        "set of 6",
        "set of 12",
        "small",
        "medium",
        "large",
        "A4",
        "A3",
        "natural",
        "assorted",
        "cobalt",
        "ochre",
        "violet",
    ]
)
_SUPPLIER_WORDS = np.array(
    [
        "Northwind",
        "Harbour",
        "Meadow",
        "Atelier",
        "Kestrel",
        "Oakridge",
        "Bluebell",
        "Granite",
        "Saffron",
        "Willow",
        "Copper",
        "Linden",
        "Marigold",
        "Riverside",
        "Juniper",
        "Ember",
    ]
)
_SUPPLIER_KINDS = np.array(
    ["Pigments", "Crafts", "Art Supply", "Mills", "Trading", "Materials", "Wholesale", "Works"]
)
_COUNTRIES = np.array(["GB", "DE", "FR", "IT", "NL", "PL", "CN", "IN", "US", "PT"])
_OVERSEAS = {"CN", "IN", "US"}


@dataclass(frozen=True)
class Catalogue:
    """The catalogue as arrays the order simulation indexes by SKU position."""

    suppliers: pd.DataFrame
    products: pd.DataFrame
    category: np.ndarray  # int8 category index per SKU
    line: np.ndarray  # int16 line index per SKU (global over all categories)
    popularity: np.ndarray  # float64, sums to 1 within each category
    lead_time: np.ndarray  # int16 supplier lead time per SKU
    out_of_stock: np.ndarray  # bool [sku, week]: the SKU could not be shipped that week

    @property
    def consumable(self) -> np.ndarray:
        return self.products["is_consumable"].to_numpy()


def sku_count(customers: int) -> int:
    """A few hundred SKUs for a small shop, two thousand for a large one."""
    return int(np.clip(round(200 + customers * 0.018), 200, 2000))


def _lines() -> pd.DataFrame:
    rows = [(cat, c, *spec) for c, (cat, specs) in enumerate(CATALOGUE.items()) for spec in specs]
    return pd.DataFrame(
        rows, columns=["category", "cat", "line", "consumable", "repl", "low", "high"]
    )


def build(rng: np.random.Generator, *, customers: int, weeks: int) -> Catalogue:
    """Suppliers and products scaled to the number of customers, plus stock-out weeks per SKU."""
    n_sku = sku_count(customers)
    n_sup = int(np.clip(20 + n_sku // 50, 20, 60))
    lines = _lines()

    # Suppliers: domestic ones deliver within days, overseas ones within weeks.
    country = rng.choice(
        _COUNTRIES, n_sup, p=[0.3, 0.12, 0.1, 0.08, 0.07, 0.05, 0.13, 0.07, 0.05, 0.03]
    )
    overseas = np.isin(country, list(_OVERSEAS))
    lead = np.where(overseas, rng.integers(21, 46, n_sup), rng.integers(4, 15, n_sup))
    status = np.full(n_sup, "ok", dtype=object)
    troubled = rng.permutation(n_sup)[: max(3, n_sup // 8)]
    status[troubled] = "delayed"
    status[troubled[: max(1, len(troubled) // 3)]] = "disrupted"
    names = (
        rng.choice(_SUPPLIER_WORDS, n_sup).astype(object)
        + " "
        + rng.choice(_SUPPLIER_KINDS, n_sup).astype(object)
    )
    supplier_ids = np.array([f"SUP{i + 1:03d}" for i in range(n_sup)], dtype=object)
    suppliers = pd.DataFrame(
        {
            "supplier_id": supplier_ids,
            "name": names + " " + pd.Series(np.arange(1, n_sup + 1)).astype(str).to_numpy(object),
            "lead_time_days": lead.astype(np.int64),
            "status": status,
            "country": country.astype(object),
        }
    ).astype({"supplier_id": "str", "name": "str", "status": "str", "country": "str"})

    # Each category is served by a handful of suppliers.
    sup_of_cat = [
        rng.choice(n_sup, size=min(n_sup, int(rng.integers(3, 7))), replace=False)
        for _ in CATEGORIES
    ]

    share = np.array([CATEGORY_SHARE[c] for c in CATEGORIES])
    cat = np.sort(rng.choice(len(CATEGORIES), n_sku, p=share / share.sum()))
    cat_lines = lines.groupby("cat").indices
    line = np.empty(n_sku, dtype=np.int16)
    supplier = np.empty(n_sku, dtype=np.int64)
    for c in range(len(CATEGORIES)):  # one pass per category, not per SKU
        idx = np.flatnonzero(cat == c)
        line[idx] = rng.choice(cat_lines[c], len(idx))
        supplier[idx] = rng.choice(sup_of_cat[c], len(idx))
    order = np.lexsort((line, cat))  # SKUs grouped by category, then line
    cat, line, supplier = cat[order], line[order], supplier[order]

    spec = lines.iloc[line]
    low, high = spec["low"].to_numpy(float), spec["high"].to_numpy(float)
    price = np.round(low + (high - low) * rng.beta(1.6, 3.0, n_sku), 0) - 0.01
    price = np.maximum(price, 0.99)
    unit_cost = np.round(price * rng.uniform(0.35, 0.62, n_sku), 2)
    consumable = spec["consumable"].to_numpy(bool)
    repl = np.where(
        consumable, np.round(spec["repl"].to_numpy() * rng.uniform(0.8, 1.25, n_sku)), np.nan
    )
    popularity = rng.lognormal(0.0, 1.0, n_sku)
    popularity /= np.bincount(cat, popularity)[cat]
    name = (
        rng.choice(_ADJECTIVES, n_sku).astype(object)
        + " "
        + spec["line"].to_numpy(object)
        + " "
        + rng.choice(_VARIANTS, n_sku).astype(object)
    )
    products = pd.DataFrame(
        {
            "sku": pd.Series([f"SKU{i + 1:05d}" for i in range(n_sku)], dtype="str"),
            "name": pd.Series(name, dtype="str"),
            "category": pd.Series(np.array(CATEGORIES, dtype=object)[cat], dtype="str"),
            "line": pd.Series(spec["line"].to_numpy(object), dtype="str"),
            "supplier_id": pd.Series(supplier_ids[supplier], dtype="str"),
            "price": price,
            "unit_cost": unit_cost,
            "is_consumable": consumable,
            "replenishment_days": pd.array(repl, dtype="Int64"),
            "reorder_point": np.zeros(n_sku, dtype=np.int64),  # set from demand later
            "active": rng.random(n_sku) > 0.02,
        }
    )
    sku_lead = lead[supplier].astype(np.int16)
    oos = _stock_out_weeks(rng, weeks=weeks, lead=sku_lead, status=status[supplier])
    return Catalogue(suppliers, products, cat.astype(np.int8), line, popularity, sku_lead, oos)


def _stock_out_weeks(
    rng: np.random.Generator, *, weeks: int, lead: np.ndarray, status: np.ndarray
) -> np.ndarray:
    """Stock-out episodes per SKU: rarer for reliable suppliers, lasting about a lead time."""
    n = len(lead)
    flaky = rng.lognormal(0.0, 0.6, n)
    rate = 0.012 * flaky
    rate = np.where(status == "delayed", rate * 2.5, rate)
    rate = np.where(status == "disrupted", rate * 4.0, rate)
    starts = rng.random((n, weeks)) < rate[:, None]
    # Troubled suppliers' SKUs run out more often in the last weeks (the current disruption).
    recent = weeks - 8
    extra = rng.random((n, weeks - recent)) < np.where(status == "ok", 0.0, 0.08)[:, None]
    starts[:, recent:] |= extra
    duration = np.maximum(1, np.ceil(lead / 7 * rng.uniform(0.5, 1.5, n))).astype(int)
    oos = np.zeros((n, weeks), dtype=bool)
    for d in range(int(duration.max())):  # one pass per week of duration
        shifted = starts[:, : weeks - d] & (duration > d)[:, None]
        oos[:, d:] |= shifted
    return oos


def sample_within(cum: np.ndarray, group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Pick an item per draw from its group, by weight: `cum` holds group index + cumulative share."""
    idx = np.searchsorted(cum, group + u, side="right")
    return np.minimum(idx, len(cum) - 1)


def cumulative_within(group: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Group index plus the cumulative share of weight within the group (items sorted by group)."""
    total = np.bincount(group, weight)
    share = weight / total[group]
    cum = np.cumsum(share)
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    start = np.repeat(cum[first] - share[first], np.diff(np.r_[first, len(group)]))
    edges = group + np.minimum(cum - start, 1.0)
    last = np.r_[first[1:] - 1, len(group) - 1]
    edges[last] = group[last] + 1.0  # so that rounding never leaks a draw into the next group
    return edges
