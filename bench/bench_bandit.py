"""Does the bandit find the best campaign per context? Cumulative regret on simulated responses.

    python bench/bench_bandit.py [--weeks 30] [--customers 2000] [--seed 1]

Each context (segment x risk band x value tier) has a known conversion rate per campaign and
so a best campaign. Every week customers arrive with a random context and a random set of
allowed campaigns (as after the guardrails), each allowed offer with a known net value per
conversion (its featured product's price less the discount: 1 to 60); each policy picks one,
responses are drawn from the true rates, and the bandit is refitted on everything it has
seen. Regret = the best allowed rate minus the chosen one's, summed over customers, and the
same in net value (rate x value); lower is better. "bandit" weighs its draws by the offers'
values (as the proposals do), "bandit, conversion only" does not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import bandit

ARMS = [
    "service_recovery",
    "replenishment",
    "on_the_brink",
    "win_back",
    "first_to_repeat",
    "cross_sell",
    "loyalty",
]
CONTEXTS = [
    f"{s}|{b}|{v}"
    for s in ("new", "regular", "loyal")
    for b in ("low", "medium", "high")
    for v in ("low", "mid", "high")
]


def simulate(
    policy: str, *, weeks: int, customers: int, seed: int, rates: np.ndarray
) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    history = []
    regret, value_regret = [], []
    priors = dict.fromkeys(ARMS, 0.05)
    for _ in range(weeks):
        cells = rng.integers(0, len(CONTEXTS), customers)
        allowed = rng.random((customers, len(ARMS))) < 0.5
        allowed[np.arange(customers), rng.integers(0, len(ARMS), customers)] = True
        values = rng.uniform(1.0, 60.0, (customers, len(ARMS)))
        rows, cols = np.nonzero(allowed)
        candidates = pd.DataFrame(
            {
                "customer_id": rows.astype(str),
                "campaign_type": np.array(ARMS)[cols],
                "context": np.array(CONTEXTS)[cells[rows]],
                "row": rows,
                "arm": cols,
                "value": values[rows, cols],
            }
        )
        if policy.startswith("bandit"):
            model = bandit.fit(
                pd.DataFrame(history, columns=bandit.HISTORY_COLUMNS)
                if history
                else pd.DataFrame(columns=bandit.HISTORY_COLUMNS),
                priors=priors,
                strength=20,
            )
            if policy != "bandit":
                candidates = candidates.drop(columns="value")
            chosen = bandit.choose(candidates, model, rng=rng, exploration_floor=0.05)
        elif policy == "random":
            chosen = candidates.sample(
                frac=1, random_state=int(rng.integers(1 << 31))
            ).drop_duplicates("customer_id")
        else:  # fixed priority: the playbook's order
            chosen = candidates.sort_values(["row", "arm"]).drop_duplicates("customer_id")
        row, arm = chosen["row"].to_numpy(), chosen["arm"].to_numpy()
        p = rates[cells[row], arm]
        best = np.where(allowed[row], rates[cells[row]], -1).max(axis=1)
        regret.append(float((best - p).sum()))
        worth = rates[cells[row]] * values[row]
        best_worth = np.where(allowed[row], worth, -1).max(axis=1)
        value_regret.append(float((best_worth - p * values[row, arm]).sum()))
        converted = rng.random(len(p)) < p
        history.extend(zip(chosen["campaign_type"], chosen["context"], converted, strict=True))
    return np.cumsum(regret).tolist(), np.cumsum(value_regret).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=30)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    truth = np.random.default_rng(args.seed + 100)
    rates = truth.uniform(0.01, 0.08, (len(CONTEXTS), len(ARMS)))
    # A clear best campaign per context, different across contexts.
    best = truth.integers(0, len(ARMS), len(CONTEXTS))
    rates[np.arange(len(CONTEXTS)), best] = truth.uniform(0.12, 0.20, len(CONTEXTS))
    print(
        f"{len(CONTEXTS)} contexts, {len(ARMS)} campaigns, {args.customers} customers a week, {args.weeks} weeks"
    )
    results, value_results = {}, {}
    for policy in ("bandit", "bandit, conversion only", "random", "fixed priority"):
        start = time.perf_counter()
        results[policy], value_results[policy] = simulate(
            policy, weeks=args.weeks, customers=args.customers, seed=args.seed, rates=rates
        )
        print(f"  {policy:<24} {time.perf_counter() - start:6.1f} s")
    marks = sorted({1, 5, 10, args.weeks // 2, args.weeks} - {0})
    for title, series in (
        ("expected conversions", results),
        ("expected net value", value_results),
    ):
        table = pd.DataFrame(
            {p: [r[w - 1] for w in marks] for p, r in series.items()},
            index=[f"week {w}" for w in marks],
        )
        print(f"cumulative regret ({title} lost against the best allowed offer):")
        print(table.round(1).to_string())
        last = {p: r[-1] - r[-2] for p, r in series.items()}
        print("in the last week: " + ", ".join(f"{p} {v:.1f}" for p, v in last.items()))


if __name__ == "__main__":
    main()
