"""Writing a week's proposals: refresh open campaigns, replace unreviewed offers, in bulk."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import case, delete, func, select, update

from core import playbook
from core.bulk import large_cache, write_frame
from core.campaigns import UNREVIEWED, Campaign, Offer, Status
from core.csv_safety import safe_frame
from core.manager_approval import large_audience


def _stock_impact(offers: pd.DataFrame, suppressed: pd.DataFrame, spare: pd.Series) -> dict:
    treated = offers[~offers["holdout"].astype(bool) & offers["sku"].notna()]
    pull = treated.groupby("sku")["expected_units"].sum()
    capped = (
        suppressed[suppressed["reason"].str.startswith("audience capped: expected pull")]
        .groupby("sku")
        .size()
    )
    return {
        sku: {
            "expected_units": round(float(units), 2),
            "spare_units": round(float(spare.get(sku, 0.0)), 1),
            "capped_offers": int(capped.get(sku, 0)),
        }
        for sku, units in pull.items()
    }


def _explanation(suppressed: pd.DataFrame) -> str:
    if suppressed.empty:
        return "No offer was suppressed."
    counts = (
        suppressed["reason"].str.replace(r"\b\d[\d,.]*\b", "N", regex=True).value_counts().head(5)
    )
    return "Suppressed: " + "; ".join(f"{n} x {reason}" for reason, n in counts.items())


def _decided_totals(conn, campaign_ids: list[int]) -> pd.DataFrame:
    """Per open campaign, the offers people decided (kept by a rerun): audience, money."""
    o = Offer.__table__
    treated = case((o.c.holdout.is_(False), 1), else_=0)
    return pd.DataFrame(
        conn.execute(
            select(
                o.c.campaign_id,
                func.sum(treated).label("audience_size"),
                func.sum(1 - treated).label("holdout_size"),
                func.sum(o.c.expected_uptake * treated).label("expected_uptake"),
                func.sum(o.c.expected_cost * treated).label("expected_cost"),
                func.sum(o.c.expected_revenue * treated).label("expected_revenue"),
            )
            .where(
                o.c.campaign_id.in_(campaign_ids),
                o.c.status.not_in([s.value for s in UNREVIEWED]),
                o.c.status != Status.REJECTED.value,
            )
            .group_by(o.c.campaign_id)
        ).all(),
        columns=[
            "campaign_id",
            "audience_size",
            "holdout_size",
            "expected_uptake",
            "expected_cost",
            "expected_revenue",
        ],
    ).set_index("campaign_id")


def write(
    session, *, week, as_of, send_date, now, offers, suppressed, campaigns, spare, config
) -> dict[str, dict]:
    """Write the offers and suppressions; returns per campaign written its counts and money."""
    summary: dict[str, dict] = {}
    conn = session.connection()
    existing = campaigns.set_index("campaign_type")
    open_ids = [int(i) for i in campaigns.loc[campaigns["status"] == Status.PROPOSED, "id"]]
    if open_ids:
        conn.execute(
            delete(Offer.__table__).where(
                Offer.__table__.c.campaign_id.in_(open_ids),
                Offer.__table__.c.status.in_([s.value for s in UNREVIEWED]),
            )
        )
    decided = _decided_totals(conn, open_ids) if open_ids else pd.DataFrame()
    types = sorted(set(offers["campaign_type"]) | set(suppressed["campaign_type"]))
    ids = {}
    for name in types:
        if name in existing.index and existing.loc[name, "status"] != Status.PROPOSED:
            continue
        own = offers[offers["campaign_type"] == name]
        out = suppressed[suppressed["campaign_type"] == name]
        treated = own[~own["holdout"].astype(bool)]
        values = {
            "as_of": as_of,
            "send_date": send_date,
            "discount_pct": config.campaign(name).discount_pct,
            "audience_size": len(treated),
            "holdout_size": int(own["holdout"].sum()),
            "suppressed_size": len(out),
            "expected_uptake": float(treated["expected_uptake"].sum()),
            "expected_cost": float(treated["expected_cost"].sum()),
            "expected_revenue": float(treated["expected_revenue"].sum()),
            "stock_impact": json.dumps(_stock_impact(own, out, spare)),
            "message_template": playbook.message_template(name),
            "explanation": _explanation(out),
            "needs_manager_approval": large_audience(len(treated), config),
            "updated_at": now,
        }
        if name in existing.index:
            campaign_id = int(existing.loc[name, "id"])
            stored = dict(values)
            if campaign_id in decided.index:
                # Offers a person decided stay in the campaign: its totals count them too.
                for column, value in decided.loc[campaign_id].items():
                    stored[column] += type(stored[column])(value or 0)
                stored["needs_manager_approval"] = large_audience(stored["audience_size"], config)
            table = Campaign.__table__
            conn.execute(
                update(table)
                .where(table.c.id == campaign_id)
                .values(version=table.c.version + 1, **stored)
            )
        else:
            campaign = Campaign(week=week, campaign_type=name, proposed_at=now, **values)
            session.add(campaign)
            session.flush()
            campaign_id = campaign.id
        ids[name] = campaign_id
        summary[name] = {
            "status": "proposed",
            "audience": len(treated),
            "holdout": int(own["holdout"].sum()),
            "suppressed": len(out),
            "uptake": round(values["expected_uptake"], 2),
            "cost": round(values["expected_cost"], 2),
        }
    rows = _offer_rows(offers, suppressed, ids=ids, week=week, send_date=send_date, now=now)
    with large_cache(conn):
        write_frame(conn, Offer.__table__, rows, update=False)
    emptied = [i for i in open_ids if i not in ids.values()]
    if emptied:
        # A proposal with nothing left in it (and nothing a person decided) disappears.
        campaigns_t, offers_t = Campaign.__table__, Offer.__table__
        still_used = (
            select(offers_t.c.id).where(offers_t.c.campaign_id == campaigns_t.c.id).exists()
        )
        conn.execute(delete(campaigns_t).where(campaigns_t.c.id.in_(emptied), ~still_used))
    return summary


OFFER_FIELDS = [
    "customer_id",
    "campaign_type",
    "sku",
    "original_sku",
    "discount_pct",
    "credit_amount",
    "channel",
    "send_date",
    "holdout",
    "why_customer",
    "why_offer",
    "why_sku",
    "context",
    "propensity",
    "expected_uptake",
    "expected_cost",
    "expected_revenue",
    "expected_units",
]


def _offer_rows(offers, suppressed, *, ids, week, send_date, now) -> pd.DataFrame:
    kept = offers.reindex(columns=OFFER_FIELDS).assign(status=Status.PROPOSED.value, reason=None)
    out = suppressed.reindex(columns=[*OFFER_FIELDS, "reason"]).assign(
        status=Status.SUPPRESSED.value
    )
    rows = pd.concat([kept, out], ignore_index=True)
    rows = rows[rows["campaign_type"].isin(ids)]
    rows["original_sku"] = rows["original_sku"].where(rows["original_sku"] != rows["sku"], None)
    rows["campaign_id"] = rows["campaign_type"].map(ids)
    rows["week"] = week
    rows["send_date"] = rows["send_date"].fillna(send_date)
    for column in (
        "discount_pct",
        "credit_amount",
        "expected_uptake",
        "expected_cost",
        "expected_revenue",
        "expected_units",
    ):
        rows[column] = rows[column].fillna(0.0).astype(float)
    rows["holdout"] = rows["holdout"].astype(bool)
    rows["version"] = 1
    rows["proposed_at"] = now
    rows["updated_at"] = now
    # In customer order, the two customer indexes grow at their ends (fewer pages touched).
    return rows.sort_values("customer_id", kind="stable", ignore_index=True)


EXPORT_COLUMNS = [
    "campaign",
    "customer_id",
    "sku",
    "discount_pct",
    "channel",
    "status",
    "holdout",
    "reason",
]


def export_offers(conn, path, *, week: str | None = None, chunk_rows: int = 50_000) -> int:
    """Write offers as CSV (campaign is '<type> <week>'); the reason is why it was suppressed,
    else the reviewer's reason, else why this customer. Streams in chunks; returns the row count."""
    offers_t = Offer.__table__
    reason = func.coalesce(offers_t.c.reason, offers_t.c.review_reason, offers_t.c.why_customer)
    statement = select(
        (offers_t.c.campaign_type + " " + offers_t.c.week).label("campaign"),
        offers_t.c.customer_id,
        offers_t.c.sku,
        offers_t.c.discount_pct,
        offers_t.c.channel,
        offers_t.c.status,
        offers_t.c.holdout,
        reason.label("reason"),
    ).order_by(offers_t.c.week, offers_t.c.campaign_type, offers_t.c.customer_id)
    if week:
        statement = statement.where(offers_t.c.week == week)
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        pd.DataFrame(columns=EXPORT_COLUMNS).to_csv(handle, index=False)
        for chunk in pd.read_sql(statement, conn, chunksize=chunk_rows):
            chunk["holdout"] = chunk["holdout"].astype(bool)
            safe_frame(chunk).to_csv(handle, index=False, header=False)
            written += len(chunk)
    return written
