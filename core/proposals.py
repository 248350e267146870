"""The week's campaign proposals: playbook -> holdout -> guardrails -> bandit -> limits -> tables.

A rerun for the same week replaces only what nobody has reviewed: campaigns still `proposed`
keep their row (and id) and get fresh offers, while offers a person decided (approved, edited,
overridden, ...) and campaigns a person reviewed stay exactly as they are and count against
the contact cap, the discount budget and the stock each SKU can spare.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session

from core import (
    audit,
    bandit,
    cross_sell,
    forecast,
    guardrails,
    holdout,
    inventory,
    inventory_watch,
    offer_choice,
    pauses,
    playbook,
    proposal_data,
    proposal_store,
)
from core.campaign_config import CampaignConfig, load_config
from core.campaigns import Status
from core.codes import by_id
from core.errors import InvalidInput
from core.roles import SYSTEM, Actor, Permission, require

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def week_bounds(
    week: str | None, as_of: date | None, *, today: date
) -> tuple[str, date, date, date]:
    """(ISO week label, as_of, send date = its Monday, window end = its Sunday).

    Without a week, the week after as_of; without as_of, the day before the week starts.
    """
    if week:
        try:
            monday = date.fromisocalendar(int(week[:4]), int(week.split("W")[1]), 1)
        except (ValueError, IndexError):
            raise InvalidInput(f"A week looks like 2026-W25, not {week!r}.") from None
        as_of = as_of or monday - timedelta(days=1)
    else:
        as_of = as_of or today
        monday = as_of + timedelta(days=7 - as_of.weekday())
    if as_of >= monday + timedelta(days=7):
        raise InvalidInput(f"as_of {as_of} is after the week {week} has ended.")
    return week_label(monday), as_of, monday, monday + timedelta(days=6)


def week_label(day: date) -> str:
    """The ISO week of a day, as campaigns name it: 2026-W25."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


@dataclass
class ProposalSummary:
    week: str
    as_of: date
    campaigns: dict[str, dict] = field(default_factory=dict)
    kept_settled: int = 0

    @property
    def offers(self) -> int:
        return sum(c["audience"] + c["holdout"] for c in self.campaigns.values())

    @property
    def suppressed(self) -> int:
        return sum(c["suppressed"] for c in self.campaigns.values())

    def describe(self) -> str:
        lines = [f"Proposals for {self.week} (data as of {self.as_of}):"]
        for name, c in self.campaigns.items():
            lines.append(
                f"  {name:<17} {c['status']:<9} audience {c['audience']:>7}  holdout {c['holdout']:>6}  "
                f"suppressed {c['suppressed']:>6}  uptake {c['uptake']:>8.1f}  cost {c['cost']:>10,.0f}"
            )
        if self.kept_settled:
            lines.append(
                f"  {self.kept_settled} offers already decided by people were left as they were."
            )
        return "\n".join(lines)


def _recommendations(data: proposal_data.ProposalData, facts: pd.DataFrame, config: CampaignConfig):
    recent = data.lines[
        data.lines["ordered_date"]
        >= pd.Timestamp(facts.attrs["as_of"]) - pd.Timedelta(days=config.cross_sell.recent_days * 2)
    ]
    rules = cross_sell.association_rules(recent, min_support=config.cross_sell.min_support, top_k=5)
    anchors = facts.loc[facts["last_sku"].notna(), ["customer_id", "last_sku"]].rename(
        columns={"last_sku": "anchor"}
    )
    return cross_sell.recommend(anchors, rules, bought=data.lines, k=1)


def load_data(conn, *, as_of: date, config: CampaignConfig) -> proposal_data.ProposalData:
    """What a proposal reads, over the windows the configuration asks for."""
    return proposal_data.load(
        conn,
        as_of=as_of,
        history_days=config.history_days,
        recent_order_days=config.service_recovery.lookback_days + 30,
        season_history_days=config.season_history_days,
    )


@dataclass
class Plan:
    """What a week's proposal would write: offers, suppressed candidates, and SKU stock status."""

    offers: pd.DataFrame
    suppressed: pd.DataFrame
    skus: pd.DataFrame
    spare: pd.Series
    candidates: pd.DataFrame


def plan(
    data: proposal_data.ProposalData,
    *,
    week: str,
    as_of: date,
    send_date: date,
    window_end: date,
    config: CampaignConfig,
    active_pauses: pd.DataFrame,
    settled: pd.DataFrame,
    reviewed: set[str] = frozenset(),
    seed: int | None = None,
    step: Progress = lambda _label: None,
    watch: dict[str, str] | None = None,
) -> Plan:
    """The pure heart of `propose`: frames in, the week's offers and suppressions out."""
    step("building candidates")
    facts = playbook.build_facts(
        data.orders,
        data.lines,
        as_of=as_of,
        late_lookback_days=config.service_recovery.lookback_days,
        min_late_days=config.service_recovery.min_late_days,
        summary=data.summary,
    )
    facts.attrs["as_of"] = as_of
    inputs = playbook.PlaybookInputs(
        as_of=as_of,
        send_date=send_date,
        facts=facts,
        scores=data.scores,
        lines=data.lines,
        products=data.products,
        recommendations=_recommendations(data, facts, config),
    )
    candidates = playbook.candidates(inputs, config)
    candidates = candidates[~candidates["campaign_type"].isin(reviewed)]
    if not settled.empty:
        decided = settled[["customer_id", "campaign_type"]].assign(_decided=True)
        candidates = candidates.merge(decided, on=["customer_id", "campaign_type"], how="left")
        candidates = candidates[candidates["_decided"].isna()].drop(columns="_decided")
    candidates = candidates.reset_index(drop=True)
    candidates["send_date"] = send_date
    keys = candidates["campaign_type"] + f":{week}"
    candidates["holdout"] = holdout.is_holdout(
        keys, candidates["customer_id"], share=config.holdout_share
    )

    step("checking guardrails")
    demand = forecast.daily_demand(
        data.lines if data.daily_units is None else data.daily_units,
        as_of=as_of,
        target=send_date,
        products=data.products,
        window_days=config.forecast_window_days,
    )
    skus = guardrails.sku_status(
        products=data.products,
        suppliers=data.suppliers,
        stock=data.stock,
        inbound=data.inbound,
        demand=demand,
        pauses=active_pauses,
        as_of=as_of,
        send_date=send_date,
        window_end=window_end,
        watch=watch,
    )
    kept, screened_out = guardrails.screen(
        candidates,
        skus=skus,
        customers=data.customers,
        pauses=active_pauses,
        config=config,
        owned=data.lines[["customer_id", "sku"]],
    )

    step("choosing campaigns")
    scored = inputs.scored_facts()
    kept["context"] = by_id(kept["customer_id"], scored["customer_id"], bandit.contexts(scored))
    priors = {name: config.campaign(name).prior_uptake for name in playbook.CAMPAIGNS}
    model = bandit.fit(data.outcomes, priors=priors, strength=config.prior_strength)
    rng = np.random.default_rng(seed if seed is not None else zlib.crc32(week.encode()))
    contacted = (
        settled[settled["counts"]].groupby("customer_id").size()
        if not settled.empty
        else pd.Series(dtype=float)
    )
    chosen = offer_choice.economics(
        offer_choice.choose(kept, model, config, rng, contacted), facts, config
    )

    treated = settled[settled["spends"]] if not settled.empty else settled
    spare = skus.loc[skus["featured_sku"] == skus["sku"]].set_index("sku")["spare_units"]
    spare = spare.sub(treated.groupby("sku")["expected_units"].sum(), fill_value=0).clip(lower=0)
    budget = config.model_copy(
        update={
            "weekly_discount_budget": max(
                config.weekly_discount_budget - treated["expected_cost"].sum(), 0.0
            )
        }
    )
    offers, limited_out = guardrails.limit(
        chosen, spare_units=spare, config=budget, already_contacted=contacted
    )
    more, limited_more = offer_choice.second_choice(
        kept, offers, limited_out, model, config, rng, facts, spare, budget, contacted
    )
    offers = offer_choice.words(
        pd.concat([offers, more], ignore_index=True) if len(more) else offers
    )
    limited_out = pd.concat([limited_out, limited_more], ignore_index=True)
    suppressed = pd.concat([screened_out, limited_out], ignore_index=True)
    if "why_customer" not in suppressed:  # the guardrails carry it when there is any row
        suppressed = suppressed.merge(
            candidates[["customer_id", "campaign_type", "why_customer"]],
            on=["customer_id", "campaign_type"],
            how="left",
        )

    return Plan(offers, suppressed, skus, spare, candidates)


def propose(
    *,
    session: Session,
    as_of: date | None,
    now: datetime,
    week: str | None = None,
    config: CampaignConfig | None = None,
    seed: int | None = None,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
) -> ProposalSummary:
    """Create (or refresh) the week's proposed campaigns and offers in the caller's transaction."""
    require(actor, Permission.RUN_JOBS)
    step = progress or (lambda _label: None)
    week, as_of, send_date, window_end = week_bounds(week, as_of, today=now.date())
    config = config or load_config(session)
    conn = session.connection()

    step("loading data")
    data = load_data(conn, as_of=as_of, config=config)
    campaigns, settled = proposal_data.week_state(conn, week)
    active_pauses = pauses.active_frame(session, now=now)
    watch = inventory_watch.sku_problems(inventory.sku_cover(session, as_of=as_of, now=now))

    reviewed = set(campaigns.loc[campaigns["status"] != Status.PROPOSED, "campaign_type"])
    result = plan(
        data,
        week=week,
        as_of=as_of,
        send_date=send_date,
        window_end=window_end,
        config=config,
        active_pauses=active_pauses,
        settled=settled,
        reviewed=reviewed,
        seed=seed,
        step=step,
        watch=watch,
    )
    offers, suppressed, spare = result.offers, result.suppressed, result.spare

    step("writing proposals")
    summary = ProposalSummary(week=week, as_of=as_of)
    summary.campaigns = proposal_store.write(
        session,
        week=week,
        as_of=as_of,
        send_date=send_date,
        now=now,
        offers=offers,
        suppressed=suppressed,
        campaigns=campaigns,
        spare=spare,
        config=config,
    )
    summary.kept_settled = len(settled)
    audit.record(
        session,
        actor=actor,
        action="campaigns.propose",
        entity_type="week",
        entity_id=week,
        after={
            "as_of": as_of.isoformat(),
            "campaigns": summary.campaigns,
            "kept_settled": len(settled),
        },
        now=now,
    )
    log.info("proposed %s offers (%s suppressed) for %s", summary.offers, summary.suppressed, week)
    return summary
