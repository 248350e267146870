"""What the campaign approval page reads: a week's campaigns, their stock impact per SKU, and
what approval each still needs."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import inventory
from core.campaigns import Campaign, Status
from core.errors import NotFound
from core.manager_approval import may_approve, needs_manager, stored_impact
from core.roles import Actor
from core.tables import InboundOrder

DECIDABLE = (Status.PROPOSED, Status.EDITED)

CAMPAIGN_COLUMNS = [
    "id",
    "version",
    "campaign_type",
    "status",
    "send_date",
    "discount_pct",
    "audience_cap",
    "audience_size",
    "holdout_size",
    "suppressed_size",
    "expected_uptake",
    "expected_cost",
    "expected_revenue",
    "needs_manager_approval",
    "reviewed_by",
    "reviewed_at",
    "review_reason",
]

IMPACT_COLUMNS = [
    "sku",
    "name",
    "on_hand",
    "expected_pull",
    "spare_units",
    "inbound_units",
    "next_arrival",
    "lead_time_days",
    "daily_demand",
    "cover_days",
    "cover_days_after",
    "short_after",
]


def weeks(session: Session) -> list[str]:
    """ISO weeks that have campaigns, the newest first."""
    t = Campaign.__table__
    rows = session.connection().execute(select(t.c.week).distinct().order_by(t.c.week.desc()))
    return [row[0] for row in rows]


def week_campaigns(session: Session, *, week: str) -> pd.DataFrame:
    """The week's campaigns with audience, holdout, offer, uptake, cost, revenue and review."""
    t = Campaign.__table__
    statement = (
        select(*(t.c[name] for name in CAMPAIGN_COLUMNS))
        .where(t.c.week == week)
        .order_by(t.c.campaign_type)
    )
    return pd.read_sql(statement, session.connection())


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """One campaign, read fresh (its version is what an action must pass back)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign with id {campaign_id}.")
    session.refresh(campaign)
    return campaign


def approval_state(campaign: Campaign, actor: Actor) -> tuple[str, bool]:
    """(what has happened and what is still needed, whether this person may decide now)."""
    who = (
        f" by {campaign.reviewed_by} on {campaign.reviewed_at:%d %b %Y %H:%M} UTC"
        if campaign.reviewed_by and campaign.reviewed_at
        else ""
    )
    said = f' ("{campaign.review_reason}")' if campaign.review_reason else ""
    manager_why = needs_manager(campaign)
    if campaign.status not in DECIDABLE:
        return f"{campaign.status.capitalize()}{who}{said}.", False
    done = (
        f"Edited{who}{said}; the edit needs approving again. "
        if campaign.status == "edited"
        else ""
    )
    if manager_why:
        may = may_approve(campaign, actor)
        needed = "Needs a manager's approval: " + "; ".join(manager_why) + "."
        return done + needed + ("" if may else " You may edit or reject it."), True
    return done + "Waiting for a planner's or manager's approval.", True


def stock_impact(session: Session, *, campaign: Campaign, now: datetime) -> pd.DataFrame:
    """Per SKU the campaign features: on hand, expected pull, inbound arrivals before the
    send date plus lead time, and days of cover before and after the campaign's pull."""
    impact = stored_impact(campaign)
    if not impact:
        return pd.DataFrame(columns=IMPACT_COLUMNS)
    cover = inventory.sku_cover(session, as_of=campaign.as_of, now=now)
    frame = cover[cover["sku"].isin(list(impact))].copy()
    frame["expected_pull"] = frame["sku"].map(lambda s: impact[s].get("expected_units", 0.0))
    frame["spare_units"] = frame["sku"].map(lambda s: impact[s].get("spare_units", 0.0))
    frame["inbound_units"] = _inbound_until(session, frame, campaign)
    frame = frame.rename(columns={"days_of_cover": "cover_days"})
    after = frame["on_hand"] + frame["inbound_units"] - frame["expected_pull"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["cover_days_after"] = np.where(
            frame["daily_demand"] > 0, after.clip(lower=0) / frame["daily_demand"], np.nan
        )
    frame["short_after"] = frame["cover_days_after"].notna() & (
        frame["cover_days_after"] < frame["lead_time_days"]
    )
    return frame.sort_values("expected_pull", ascending=False)[IMPACT_COLUMNS].reset_index(
        drop=True
    )


def _inbound_until(session: Session, frame: pd.DataFrame, campaign: Campaign) -> pd.Series:
    """Units inbound per SKU expected from as_of to the send date plus the supplier's lead time."""
    if frame.empty:
        return pd.Series(dtype=float)
    t = InboundOrder.__table__
    latest = campaign.send_date + timedelta(days=int(frame["lead_time_days"].max()))
    rows = pd.read_sql(
        select(t.c.sku, t.c.expected_date, func.sum(t.c.quantity).label("quantity"))
        .where(
            t.c.sku.in_(list(frame["sku"])),
            t.c.received_date.is_(None),
            t.c.expected_date >= campaign.as_of,
            t.c.expected_date <= latest,
        )
        .group_by(t.c.sku, t.c.expected_date),
        session.connection(),
    )
    if rows.empty:
        return pd.Series(0.0, index=frame.index)
    lead = frame.set_index("sku")["lead_time_days"]
    deadline = pd.Timestamp(campaign.send_date) + pd.to_timedelta(rows["sku"].map(lead), unit="D")
    within = rows[pd.to_datetime(rows["expected_date"]) <= deadline]
    totals = within.groupby("sku")["quantity"].sum()
    return frame["sku"].map(totals).fillna(0.0).astype(float)


def campaign_choices(session: Session, *, week: str | None) -> dict[int, str]:
    """The week's campaigns a customer can still be moved into: id -> name."""
    if week is None:
        return {}
    t = Campaign.__table__
    open_states = [s.value for s in (*DECIDABLE, Status.APPROVED)]
    rows = session.connection().execute(
        select(t.c.id, t.c.campaign_type)
        .where(t.c.week == week, t.c.status.in_(open_states))
        .order_by(t.c.campaign_type)
    )
    return {int(i): name.replace("_", " ") for i, name in rows}
