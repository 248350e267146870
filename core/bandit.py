"""Which campaign to send when several are allowed: contextual Thompson sampling with a floor.

Each campaign (arm) has a Beta-Bernoulli model of conversion per context cell (segment, risk
band, value tier). The cell's prior is the arm's pooled rate over all cells, which in turn starts
from the configured cold-start uptake, so a new cell borrows what the arm has learned elsewhere.

What the policy maximises is net value, not conversion: when the candidates carry a `value`
column (what one conversion of that offer is expected to bring net of its discount and credit),
each Thompson draw of an arm's conversion rate is weighed by that value, so an offer that
converts a little better but brings a fraction of the revenue, or pays a larger discount than
its extra response is worth, loses the draw. Without `value` every conversion counts the same.

Customers with the same context, the same set of allowed arms and the same relative values
(rounded to VALUE_STEPS per doubling) face the same choice, so the Thompson probabilities are
computed once per such group (by Monte Carlo), mixed with an exploration floor, and each
customer's arm is drawn from them. The logged propensity is therefore exactly the probability
with which the policy chose the offer, as off-policy evaluation needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.codes import distinct

VALUE_TIERS = (50.0, 200.0)  # expected value below 50 is low, below 200 mid, else high
HISTORY_COLUMNS = ["campaign_type", "context", "converted"]
VALUE_STEPS = 4  # relative values are rounded to 2 ** (1 / 4), about 19% apart
VALUE_RANGE = 16  # ... and floored at 2 ** -4 of the customer's best offer (1/16: all but never)
STEP_BITS = 5  # bits holding one arm's step (0..VALUE_RANGE) when rows are packed for sorting
GROUP_CHUNK = 4096  # groups sampled at once (4096 x 256 draws x 7 arms: 59 MB)


def contexts(facts: pd.DataFrame) -> pd.Series:
    """'segment|risk band|value tier' per row of scored facts (n_orders, risk_band, expected_value)."""
    orders = facts["n_orders"].fillna(0).to_numpy()
    segment = np.select([orders <= 1, orders < 5], ["new", "regular"], "loyal")
    band = facts["risk_band"].astype(object).where(facts["risk_band"].notna(), "unscored")
    value = facts["expected_value"].fillna(facts.get("total_spend", 0.0)).fillna(0.0).to_numpy()
    tier = np.select([value < VALUE_TIERS[0], value < VALUE_TIERS[1]], ["low", "mid"], "high")
    return pd.Series(segment, index=facts.index) + "|" + band.astype(str) + "|" + tier


@dataclass(frozen=True)
class BanditModel:
    """Beta parameters per (campaign_type, context), with each arm's pooled prior for new cells."""

    cells: pd.DataFrame  # campaign_type, context, alpha, beta
    arm_rates: dict[str, float]
    strength: float

    def parameters(self, arms: pd.Series, cells: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """alpha, beta for each (arm, context) pair; unseen cells get the arm's pooled prior."""
        table = self.cells.set_index(["campaign_type", "context"])
        keys = pd.MultiIndex.from_arrays([arms.to_numpy(), cells.to_numpy()])
        found = table.reindex(keys)
        rate = arms.map(self.arm_rates).fillna(0.05).to_numpy()
        alpha = found["alpha"].to_numpy()
        beta = found["beta"].to_numpy()
        missing = np.isnan(alpha)
        alpha = np.where(missing, rate * self.strength, alpha)
        beta = np.where(missing, (1 - rate) * self.strength, beta)
        return alpha, beta

    def mean(self, arms: pd.Series, cells: pd.Series) -> np.ndarray:
        alpha, beta = self.parameters(arms, cells)
        return alpha / (alpha + beta)


def fit(history: pd.DataFrame, *, priors: dict[str, float], strength: float) -> BanditModel:
    """Posterior from recorded outcomes (campaign_type, context, converted), treatment only."""
    history = history.dropna(subset=["converted"])
    reward = history["converted"].astype(float)
    pooled = reward.groupby(history["campaign_type"]).agg(["sum", "count"])
    arm_rates = {}
    for arm, prior in priors.items():
        successes, trials = pooled.loc[arm] if arm in pooled.index else (0.0, 0.0)
        arm_rates[arm] = float((prior * strength + successes) / (strength + trials))
    cells = reward.groupby([history["campaign_type"], history["context"]]).agg(["sum", "count"])
    cells = cells.reset_index()
    rate = cells["campaign_type"].map(arm_rates).fillna(0.05)
    cells["alpha"] = rate * strength + cells["sum"]
    cells["beta"] = (1 - rate) * strength + cells["count"] - cells["sum"]
    return BanditModel(cells[["campaign_type", "context", "alpha", "beta"]], arm_rates, strength)


def cold_start(*, priors: dict[str, float], strength: float) -> BanditModel:
    """A model that knows only the configured uptake of each campaign."""
    return fit(pd.DataFrame(columns=HISTORY_COLUMNS), priors=priors, strength=strength)


def choose(
    candidates: pd.DataFrame,
    model: BanditModel,
    *,
    rng: np.random.Generator,
    exploration_floor: float,
    draws: int = 256,
) -> pd.DataFrame:
    """One campaign per customer among their allowed rows (customer_id, campaign_type, context).

    With a `value` column (net value of one conversion of that row), draws are weighed by it:
    the policy maximises expected net value. Returns the chosen rows with `propensity`
    (probability of this choice), `expected_uptake` (posterior mean of conversion) and
    `alternatives` (the other allowed campaigns).
    """
    if candidates.empty:
        return candidates.assign(propensity=[], expected_uptake=[], alternatives=[])
    # Sorted integer codes order the rows as the (customer_id, campaign_type) strings would.
    arm_code, arms = pd.factorize(candidates["campaign_type"], sort=True)
    customer_code, customers = pd.factorize(candidates["customer_id"], sort=True)
    order = np.lexsort((arm_code, customer_code))
    frame = candidates.take(order).reset_index(drop=True)
    arm_code, customer_code = arm_code[order], customer_code[order]
    arms = np.asarray(arms, dtype=object)
    # The posterior mean once per (arm, context) cell, not once per row.
    context_of_row, row_contexts = pd.factorize(frame["context"], use_na_sentinel=False)
    cell, cell_row = np.unique(
        context_of_row.astype(np.int64) * len(arms) + arm_code, return_inverse=True
    )
    frame["expected_uptake"] = model.mean(
        pd.Series(arms[cell % len(arms)]),
        pd.Series(np.asarray(row_contexts, dtype=object)[cell // len(arms)]),
    )[cell_row]
    # Each customer's allowed arms as a bit mask; with their context (and, with values, each
    # arm's value relative to the customer's best) it names the group.
    mask = np.bincount(customer_code, weights=np.left_shift(1, arm_code)).astype(np.int64)
    first_row = np.flatnonzero(np.r_[True, customer_code[1:] != customer_code[:-1]])
    context_code, context_values = pd.factorize(frame["context"].to_numpy()[first_row])
    key = context_code.astype(np.int64) * (1 << len(arms)) + mask
    steps = _value_steps(frame, customer_code, arm_code, len(customers), len(arms))
    if steps is None:
        keys, group = np.unique(key, return_inverse=True)
        weight = np.ones((len(keys), len(arms)))
    else:
        keys, steps, group = _unique_rows(key, steps)
        weight = np.exp2(-steps / VALUE_STEPS)
    group_mask = keys % (1 << len(arms))
    group_context = keys // (1 << len(arms))
    allowed = (np.right_shift(group_mask[:, None], np.arange(len(arms))) & 1).astype(bool)

    alpha, beta = model.parameters(
        pd.Series(np.tile(arms, len(keys))),
        pd.Series(np.repeat(context_values[group_context], len(arms))),
    )
    shape = (len(keys), len(arms))
    alpha, beta = alpha.reshape(shape), beta.reshape(shape)
    wins = np.zeros(shape)
    # In chunks of groups (the same random stream as one call): memory stays bounded when
    # values split customers into many groups.
    for start in range(0, len(keys), GROUP_CHUNK):
        part = slice(start, start + GROUP_CHUNK)
        samples = rng.beta(
            alpha[part][:, None, :],
            beta[part][:, None, :],
            size=(len(alpha[part]), draws, len(arms)),
        )
        samples *= weight[part][:, None, :]
        samples[np.broadcast_to(~allowed[part][:, None, :], samples.shape)] = -1.0
        winners = samples.argmax(axis=2)
        rows = np.arange(len(winners))[:, None] * len(arms) + winners
        wins[part] = np.bincount(rows.ravel(), minlength=winners.shape[0] * len(arms)).reshape(
            -1, len(arms)
        )
    wins /= draws
    k = allowed.sum(axis=1, keepdims=True)
    p = (1 - exploration_floor) * wins + exploration_floor * allowed / k
    p = np.where(allowed, p, 0.0)
    p = p / p.sum(axis=1, keepdims=True)

    # Draw each customer's arm from their group's probabilities (inverse CDF).
    cdf = np.cumsum(p[group], axis=1)
    u = rng.random(len(customers))
    pick = np.minimum((cdf < u[:, None]).sum(axis=1), len(arms) - 1)
    # Rounding can land on a disallowed trailing arm; take the last allowed one instead.
    last_allowed = len(arms) - 1 - np.argmax(allowed[group][:, ::-1], axis=1)
    pick = np.where(allowed[group, pick], pick, last_allowed)
    propensity = p[group, pick]

    chosen_rows = arm_code == pick[customer_code]
    chosen = frame.loc[chosen_rows].copy()
    chosen["propensity"] = propensity[customer_code[chosen_rows]]
    others = mask & ~np.left_shift(1, pick)
    names = {m: ", ".join(arms[(m >> np.arange(len(arms))) & 1 == 1]) for m in distinct(others)}
    chosen["alternatives"] = pd.Series(others).map(names).to_numpy()[customer_code[chosen_rows]]
    return chosen.reset_index(drop=True)


def _unique_rows(key: np.ndarray, steps: np.ndarray):
    """The distinct (key, steps...) rows in lexicographic order and each customer's row index,
    like np.unique(axis=0), but sorting one int64 per customer: the key in the high bits and
    each arm's step in STEP_BITS below it, first arm highest, keep the same order."""
    n_arms = steps.shape[1]
    if key.max(initial=0) >= 1 << (62 - STEP_BITS * n_arms):
        rows, group = np.unique(np.c_[key, steps], axis=0, return_inverse=True)
        return rows[:, 0], rows[:, 1:], group.ravel()
    shifts = STEP_BITS * np.arange(n_arms - 1, -1, -1, dtype=np.int64)
    packed = (key << (STEP_BITS * n_arms)) | np.bitwise_or.reduce(steps << shifts, axis=1)
    distinct_packed, group = np.unique(packed, return_inverse=True)
    steps_of = (distinct_packed[:, None] >> shifts) & ((1 << STEP_BITS) - 1)
    return distinct_packed >> (STEP_BITS * n_arms), steps_of, group.ravel()


def _value_steps(frame, customer_code, arm_code, n_customers, n_arms):
    """Per customer and arm, how many VALUE_STEPS each allowed row's value lies below the
    customer's best (0 for the best, and for every arm when there are no values)."""
    if "value" not in frame:
        return None
    value = frame["value"].to_numpy(dtype=float)
    value = np.where(np.isfinite(value) & (value > 0), value, np.nan)
    best = np.full(n_customers, np.nan)
    np.fmax.at(best, customer_code, value)
    # No positive value for a row: as good as the customer's best (only conversion decides);
    # none at all for the customer: every row the same.
    relative = np.where(np.isnan(value), 1.0, value / best[customer_code])
    relative = np.where(np.isnan(relative), 1.0, relative)
    steps = np.minimum(np.rint(-np.log2(relative) * VALUE_STEPS), VALUE_RANGE).astype(np.int64)
    out = np.zeros((n_customers, n_arms), dtype=np.int64)
    out[customer_code, arm_code] = steps
    return out
