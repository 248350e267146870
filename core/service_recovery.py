"""Service recovery on request: an apology with credit for chosen delayed customers.

A person (support or planning) asks for it from the inventory page. The offers join this week's
proposed service-recovery campaign (created if missing) as `overridden` offers: decided by a
person, so a rerun of the week's proposals keeps them and counts them against the contact cap,
and they still go out only once the campaign is approved. Pauses, consent and the holdout split
apply as they do to the weekly proposals; customers already holding an offer this week are
skipped, with the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import sqlmodel
from sqlalchemy import delete, update

from core import audit, guardrails, holdout, pauses, playbook, service_recovery_data
from core.bulk import write_frame
from core.campaign_config import load_config
from core.campaigns import Campaign, Offer, Status
from core.db import begin_write
from core.errors import InvalidInput
from core.manager_approval import large_audience
from core.proposals import week_bounds
from core.roles import Actor, Permission, require
from core.service_recovery_data import CHUNK

NAME = "service_recovery"
# A campaign still open to more offers: nobody has approved it yet.
OPEN = (Status.PROPOSED, Status.EDITED)
# Offers that hold a contact slot of the week.
HOLDING = (
    Status.PROPOSED,
    Status.APPROVED,
    Status.EDITED,
    Status.OVERRIDDEN,
    Status.SCHEDULED,
    Status.SENT,
)


@dataclass
class RecoveryResult:
    """What a request did: the campaign, who got an offer, who was held out, who was skipped."""

    week: str
    campaign_id: int | None = None
    created_campaign: bool = False
    offered: list[str] = field(default_factory=list)
    held_out: list[str] = field(default_factory=list)
    # Of those, the ones the weekly run had already proposed: now kept as a person's request.
    confirmed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # customer -> why

    @property
    def created(self) -> int:
        return len(self.offered) + len(self.held_out)

    def skip_reasons(self) -> dict[str, int]:
        return dict(Counter(self.skipped.values()).most_common())

    def describe(self) -> str:
        if not self.created:
            head = f"No service-recovery offer proposed for {self.week}."
        else:
            made = "created" if self.created_campaign else "extended"
            confirmed = (
                f" ({len(self.confirmed)} of them already proposed by the weekly run, now kept "
                "as requested)"
                if self.confirmed
                else ""
            )
            head = (
                f"Service-recovery campaign {self.campaign_id} ({self.week}) {made}: "
                f"{len(self.offered)} offer(s) to send after approval, "
                f"{len(self.held_out)} in the holdout group{confirmed}."
            )
        if not self.skipped:
            return head
        why = "; ".join(f"{n} x {reason}" for reason, n in self.skip_reasons().items())
        return f"{head} Skipped {len(self.skipped)}: {why}."


def _why(rows: pd.DataFrame) -> pd.Series:
    """Why this customer, from the delayed list's counts, e.g. "1 late order(s), the worst 5 days late"."""
    late = rows["late_orders"].astype(int)
    cancelled = rows["cancelled_orders"].astype(int)
    worst = rows["worst_days_late"].astype(int)
    late_words = (
        late.astype(str) + " late order(s), the worst " + worst.astype(str) + " days late"
    ).where(late > 0, "")
    cancelled_words = (cancelled.astype(str) + " cancelled order(s)").where(cancelled > 0, "")
    return (late_words + "; " + cancelled_words).str.strip("; ")


# Service recovery features no product: the SKU rules of the screen have nothing to look up.
NO_SKUS = pd.DataFrame(
    {
        "sku": pd.Series(dtype=object),
        "featured_sku": pd.Series(dtype=object),
        "send_date": pd.Series(dtype=object),
        "note": pd.Series(dtype=object),
        "why_sku": pd.Series(dtype=object),
        "price": pd.Series(dtype=float),
        "unit_cost": pd.Series(dtype=float),
        "blocked_reason": pd.Series(dtype=object),
    }
)


def _open_campaign(session, week: str) -> Campaign | None:
    campaign = session.exec(
        sqlmodel.select(Campaign).where(Campaign.week == week, Campaign.campaign_type == NAME)
    ).first()
    if campaign is not None and campaign.status not in OPEN:
        raise InvalidInput(
            f"This week's service-recovery campaign ({week}) is already {campaign.status}; "
            "it takes no more offers."
        )
    return campaign


def propose(
    *,
    session,
    actor: Actor,
    reason: str,
    now: datetime,
    customer_ids: list[str] | None = None,
    within_days: int = 30,
    week: str | None = None,
) -> RecoveryResult:
    """Create or extend the week's proposed service-recovery campaign for delayed customers.

    `customer_ids` are the chosen customers; None means every customer with a late or cancelled
    order placed in the last `within_days` (the inventory page's list). One audit event.
    """
    require(actor, Permission.PROPOSE_SERVICE_RECOVERY)
    begin_write(session)
    if not reason or not reason.strip():
        raise InvalidInput("Say why: a reason is required.")
    reason = reason.strip()
    config = load_config(session)
    params = config.service_recovery
    if not params.enabled:
        raise InvalidInput("Service recovery is switched off in the campaign settings.")
    week, as_of, send_date, _ = week_bounds(week, None, today=now.date())
    delayed = service_recovery_data.delayed_frame(
        session, today=now.date(), within_days=within_days
    )
    result = RecoveryResult(week=week)
    if customer_ids is None:
        chosen = delayed
    else:
        wanted = list(dict.fromkeys(str(c) for c in customer_ids))
        if not wanted:
            raise InvalidInput("Choose at least one delayed customer.")
        chosen = delayed[delayed["customer_id"].isin(wanted)]
        for customer in sorted(set(wanted) - set(chosen["customer_id"])):
            result.skipped[customer] = f"no late or cancelled order in the last {within_days} days"
    if chosen.empty and not result.skipped:
        raise InvalidInput(
            f"No customer had a late or cancelled order in the last {within_days} days."
        )
    campaign = _open_campaign(session, week)
    conn = session.connection()
    ids = chosen["customer_id"].astype(str).tolist()
    held = service_recovery_data.week_offers(conn, week, ids)
    own = held[(held["campaign_type"] == NAME) & (held["status"] != Status.SUPPRESSED.value)]
    # The weekly run's own proposal for a customer: the request confirms it (kept on reruns).
    proposed = own[own["status"] == Status.PROPOSED.value].set_index("customer_id")
    for customer, status in zip(own["customer_id"], own["status"], strict=True):
        if customer not in proposed.index:
            result.skipped[customer] = f"already has a service-recovery offer this week ({status})"
    holding = held[
        held["status"].isin([s.value for s in HOLDING]) & ~held["id"].isin(proposed["id"])
    ]
    counts = holding.groupby("customer_id").size()
    for customer in counts[counts >= config.contact_cap_per_week].index:
        result.skipped.setdefault(
            customer,
            f"already holds an offer this week (contact cap {config.contact_cap_per_week})",
        )
    chosen = chosen[~chosen["customer_id"].isin(result.skipped)]
    candidates = pd.DataFrame(
        {
            "customer_id": chosen["customer_id"].astype(str).to_numpy(),
            "campaign_type": NAME,
            "sku": None,
            "discount_pct": 0.0,
            "credit_amount": float(params.credit_amount),
            "send_date": send_date,
            "why_customer": _why(chosen).to_numpy(),
        }
    )
    candidates["holdout"] = holdout.is_holdout(
        pd.Series(holdout.campaign_key(NAME, week), index=candidates.index),
        candidates["customer_id"],
        share=config.holdout_share,
    )
    kept, out = guardrails.screen(
        candidates,
        skus=NO_SKUS,
        customers=service_recovery_data.consents(conn, candidates["customer_id"].tolist()),
        pauses=pauses.active_frame(session, now=now),
        config=config,
    )
    result.skipped.update(zip(out["customer_id"], out["reason"], strict=True))
    if kept.empty:
        result.campaign_id = campaign.id if campaign is not None else None
        return result
    adopted = kept["customer_id"].isin(proposed.index)
    stored = kept.loc[adopted, "customer_id"].map(proposed["holdout"]).astype(bool)
    kept.loc[adopted, "holdout"] = stored
    kept["holdout"] = kept["holdout"].astype(bool)
    result.offered = kept.loc[~kept["holdout"], "customer_id"].tolist()
    result.held_out = kept.loc[kept["holdout"], "customer_id"].tolist()
    result.confirmed = kept.loc[adopted, "customer_id"].tolist()
    campaign, result.created_campaign = _campaign_for(
        session, campaign, week, as_of, send_date, now
    )
    result.campaign_id = campaign.id
    before = _snapshot(campaign)
    new = kept[~adopted]
    _write_offers(
        conn, new, campaign, week=week, actor=actor, reason=reason, now=now, params=params
    )
    _confirm(
        conn, proposed.loc[result.confirmed, "id"].tolist(), actor=actor, reason=reason, now=now
    )
    treated = int((~new["holdout"]).sum())
    table = Campaign.__table__
    conn.execute(
        update(table)
        .where(table.c.id == campaign.id)
        .values(
            version=table.c.version + 1,
            audience_size=table.c.audience_size + treated,
            holdout_size=table.c.holdout_size + int(new["holdout"].sum()),
            expected_uptake=table.c.expected_uptake + treated * params.prior_uptake,
            expected_cost=table.c.expected_cost + treated * params.credit_amount,
            needs_manager_approval=large_audience(table.c.audience_size + treated, config),
            updated_at=now,
        )
    )
    session.refresh(campaign)
    audit.record(
        session,
        actor=actor,
        action="service_recovery.propose",
        entity_type="campaign",
        entity_id=campaign.id,
        before=before,
        after={
            **_snapshot(campaign),
            "offered": result.offered,
            "held_out": result.held_out,
            "confirmed": result.confirmed,
            "skipped": result.skip_reasons(),
        },
        reason=reason,
        now=now,
    )
    return result


def _snapshot(campaign: Campaign) -> dict:
    keys = ("status", "version", "audience_size", "holdout_size", "expected_cost")
    return {k: getattr(campaign, k) for k in keys}


def _campaign_for(session, campaign, week, as_of, send_date, now) -> tuple[Campaign, bool]:
    if campaign is not None:
        return campaign, False
    campaign = Campaign(
        week=week,
        campaign_type=NAME,
        status=Status.PROPOSED,
        as_of=as_of,
        send_date=send_date,
        discount_pct=0.0,
        stock_impact="{}",
        message_template=playbook.message_template(NAME),
        explanation="Requested from the inventory page for customers whose orders were delayed.",
        proposed_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign, True


def _requested_by(actor: Actor, reason: str) -> str:
    return f"service recovery requested by {actor.username}: {reason}"


def _confirm(conn, offer_ids: list[int], *, actor: Actor, reason: str, now: datetime) -> None:
    """The weekly run's proposed offers become the person's: `overridden`, kept on reruns."""
    o = Offer.__table__
    for start in range(0, len(offer_ids), CHUNK):
        conn.execute(
            update(o)
            .where(o.c.id.in_(offer_ids[start : start + CHUNK]))
            .values(
                status=Status.OVERRIDDEN.value,
                version=o.c.version + 1,
                why_offer=_requested_by(actor, reason),
                reviewed_by=actor.username,
                reviewed_at=now,
                review_reason=reason,
                updated_at=now,
            )
        )


def _write_offers(conn, kept, campaign, *, week, actor, reason, now, params) -> None:
    if kept.empty:
        return
    o = Offer.__table__
    ids = kept["customer_id"].tolist()
    for start in range(0, len(ids), CHUNK):
        # A suppression record of this campaign gives way to the person's request.
        conn.execute(
            delete(o).where(
                o.c.campaign_id == campaign.id,
                o.c.status == Status.SUPPRESSED.value,
                o.c.customer_id.in_(ids[start : start + CHUNK]),
            )
        )
    treated = ~kept["holdout"].astype(bool)
    rows = pd.DataFrame(
        {
            "campaign_id": campaign.id,
            "week": week,
            "campaign_type": NAME,
            "customer_id": kept["customer_id"].to_numpy(),
            "status": Status.OVERRIDDEN.value,
            "version": 1,
            "holdout": kept["holdout"].astype(bool).to_numpy(),
            "sku": None,
            "discount_pct": 0.0,
            "credit_amount": float(params.credit_amount),
            "channel": kept["channel"].to_numpy(),
            "send_date": campaign.send_date,
            "why_customer": kept["why_customer"].to_numpy(),
            "why_offer": _requested_by(actor, reason),
            "why_sku": "no product featured",
            "expected_uptake": float(params.prior_uptake),
            "expected_cost": treated.to_numpy() * float(params.credit_amount),
            "expected_revenue": 0.0,
            "expected_units": 0.0,
            "proposed_at": now,
            "updated_at": now,
            "reviewed_by": actor.username,
            "reviewed_at": now,
            "review_reason": reason,
        }
    )
    write_frame(conn, o, rows, update=False)
