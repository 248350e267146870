"""The demo's customers and their hidden traits (purchase rate, loyalty, taste, offer response).

The traits are drawn from their own random stream, so that later simulations (responses to
offers, say) can rebuild exactly the same people from the seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.demo_catalogue import CATEGORIES, Catalogue, cumulative_within, sample_within

TRAITS_STREAM = 1
WINDOW_DAYS = 730

_FIRST = np.array(
    [
        "Ada",
        "Ben",
        "Chloe",
        "Dev",
        "Ella",
        "Finn",
        "Grace",
        "Hugo",
        "Isla",
        "Jay",
        "Kara",
        "Leo",
        "Maya",
        "Nico",
        "Olive",
        "Priya",
        "Quinn",
        "Rosa",
        "Sam",
        "Tara",
        "Uma",
        "Vik",
        "Wren",
        "Zoe",
    ]
)
_LAST = np.array(
    [
        "Adams",
        "Baker",
        "Clarke",
        "Dawson",
        "Evans",
        "Fischer",
        "Green",
        "Hughes",
        "Iqbal",
        "Jones",
        "Khan",
        "Lopez",
        "Moreau",
        "Novak",
        "Okafor",
        "Patel",
        "Rossi",
        "Silva",
        "Turner",
        "Walsh",
        "Young",
        "Zielinski",
    ]
)
_REGIONS = np.array(
    [
        "North",
        "North West",
        "Yorkshire",
        "Midlands",
        "East",
        "London",
        "South East",
        "South West",
        "Wales",
        "Scotland",
        "Northern Ireland",
    ]
)
_REGION_SHARE = np.array([0.05, 0.1, 0.08, 0.14, 0.09, 0.18, 0.14, 0.08, 0.05, 0.07, 0.02])


def ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Zero-padded string ids such as C0000042, built without a Python loop."""
    return prefix + pd.Series(numbers, dtype="int64").astype("str").str.zfill(width)


def seasonality(days: pd.DatetimeIndex) -> np.ndarray:
    """Relative demand per calendar day: back-to-school, the holiday peak, a quiet late winter."""
    month, day = days.month.to_numpy(), days.day.to_numpy()
    level = np.full(len(days), 1.0)
    level[np.isin(month, [1])] = 0.85
    level[np.isin(month, [2, 3])] = 0.75
    level[(month == 8) & (day >= 15)] = 1.35
    level[month == 9] = 1.4
    level[month == 10] = 1.05
    level[month == 11] = 1.45
    level[(month == 12) & (day <= 20)] = 1.8
    level[(month == 12) & (day > 20)] = 1.0
    return level


def traits(
    *, customers: int, seed: int, catalogue: Catalogue, calendar: pd.DatetimeIndex
) -> pd.DataFrame:
    """One row per customer of latent traits; same seed and catalogue give the same traits.

    signup_day counts days from the first day of `calendar`; rate is orders per year while
    active; regularity is the gamma shape of the gaps between orders (high = on a cycle);
    churn_propensity shifts the chance of leaving after each order; breadth is the share of
    purchases outside the favourite category; satisfaction is the baseline survey mood;
    lifetime_days is when the customer drifts away regardless of experience;
    offer_sensitivity is how strongly a discount moves this customer (for offer simulations).
    """
    rng = np.random.default_rng([seed, TRAITS_STREAM])
    n = customers
    days = len(calendar)
    growth = np.exp(np.log(1.4) * np.arange(days) / days)  # the shop grows over the window
    weight = seasonality(calendar) * growth
    cum = np.cumsum(weight) / weight.sum()
    signup = np.searchsorted(cum, rng.random(n)).clip(0, days - 2).astype(np.int32)

    n_cat = len(CATEGORIES)
    cat_share = np.bincount(catalogue.category, minlength=n_cat) / len(catalogue.category)
    favourite_category = rng.choice(n_cat, n, p=cat_share).astype(np.int8)
    cum_pop = cumulative_within(catalogue.category.astype(np.int64), catalogue.popularity)
    favourite_sku = sample_within(cum_pop, favourite_category, rng.random(n)).astype(np.int32)

    repl = catalogue.products["replenishment_days"].to_numpy(dtype=float, na_value=np.nan)
    fav_repl = repl[favourite_sku]
    cyclic = ~np.isnan(fav_repl)
    # Consumable buyers come back on about the product's cycle; the others now and then.
    rate = np.where(
        cyclic,
        365.0 / np.nan_to_num(fav_repl, nan=90.0) * rng.lognormal(0.0, 0.35, n),
        rng.lognormal(np.log(2.4), 0.6, n),
    ).clip(0.4, 14)
    regularity = np.where(cyclic, rng.uniform(2.5, 6.0, n), rng.uniform(0.8, 1.6, n))
    return pd.DataFrame(
        {
            "signup_day": signup,
            "favourite_category": favourite_category,
            "favourite_sku": favourite_sku,
            "rate": rate.astype(np.float32),
            "regularity": regularity.astype(np.float32),
            "churn_propensity": rng.normal(0.0, 1.0, n).astype(np.float32),
            "breadth": rng.beta(1.5, 3.5, n).astype(np.float32),
            "satisfaction": rng.normal(8.4, 0.8, n).astype(np.float32),
            "lifetime_days": rng.exponential(1100.0, n).astype(np.float32),
            "offer_sensitivity": rng.lognormal(-1.2, 0.7, n).astype(np.float32),
        }
    )


def customers_frame(
    rng: np.random.Generator, latent: pd.DataFrame, calendar: pd.DatetimeIndex
) -> pd.DataFrame:
    """The customers table: ids, names, region, signup date and channel consent."""
    n = len(latent)
    first = pd.Series(rng.choice(_FIRST, n), dtype="str")
    last = pd.Series(rng.choice(_LAST, n), dtype="str")
    number = np.arange(1, n + 1)
    customer_id = ids("C", number, 7)
    email = (
        first + "." + last + pd.Series(number, dtype="int64").astype("str")
    ).str.lower() + "@example.com"
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "name": first + " " + last,
            "email": email,
            "region": pd.Series(rng.choice(_REGIONS, n, p=_REGION_SHARE), dtype="str"),
            "signup_date": calendar[latent["signup_day"].to_numpy()].to_numpy(),
            "consent_email": rng.random(n) > 0.08,
            "consent_sms": rng.random(n) < 0.35,
            "consent_post": rng.random(n) > 0.12,
        }
    )


def pick(strings: pd.Series, codes: np.ndarray) -> pd.Series:
    """The strings at integer positions (ids from codes), without Python objects per row."""
    return pd.Series(strings.array.take(codes)).reset_index(drop=True)


def as_dates(start: np.datetime64, day: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Day offsets from `start` as datetime64 dates; NaT where not valid."""
    values = (start + day.astype("timedelta64[D]")).astype("datetime64[s]")
    if valid is not None:
        values = np.where(valid, values, np.datetime64("NaT", "s"))
    return values
