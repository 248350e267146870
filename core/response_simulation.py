"""Demo only: how customers answer the offers they got (and the holdout would have got).

So that the loop turns on demo data, every sent offer and every holdout offer of an approved
campaign gets a simulated response in the week after its (would-be) send date. The chance of
an order depends on the customer (hidden churn propensity and offer sensitivity, from
core.demo.latent_traits or, without them, drawn from a hash of the customer id), on the offer
(a discount or credit moves sensitive customers; the holdout gets no push) and on stock: a
customer offered a SKU that is out of stock responds worse than one never contacted, and
leaves a poor survey score. Orders, lines and survey responses go into the normal tables with
ids derived from the offer, and every draw is a hash of (seed, offer), so a rerun writes the
same rows again instead of new ones.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from core import audit
from core.bulk import write_frame
from core.campaigns import Campaign, Offer, Status
from core.roles import Actor, Permission, require
from core.tables import Order, OrderLine, Product, StockLevel, SurveyResponse

log = logging.getLogger(__name__)

BASE_LOGIT = -2.4  # about one customer in twelve orders in a given week unprompted
OUT_OF_STOCK_PENALTY = 1.2  # logit: worse than no offer at all
RESPONSE_DAYS = 7
CREDIT_AS_DISCOUNT = 10.0
TRAIT_COLUMNS = ["churn_propensity", "offer_sensitivity"]


def _uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """A uniform in [0, 1) per integer key (splitmix64): the same key and salt, the same draw."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def hashed_traits(customer_ids: pd.Series, *, seed: int = 0) -> pd.DataFrame:
    """Traits for customers without generator traits, stable per id (same spread as the demo)."""
    keys = pd.util.hash_pandas_object(customer_ids.reset_index(drop=True), index=False).to_numpy()
    u1, u2 = _uniform(keys, seed + 1), _uniform(keys, seed + 2)
    u3, u4 = _uniform(keys, seed + 3), _uniform(keys, seed + 4)
    z1 = np.sqrt(-2 * np.log1p(-u1)) * np.cos(2 * np.pi * u2)
    z2 = np.sqrt(-2 * np.log1p(-u3)) * np.cos(2 * np.pi * u4)
    return pd.DataFrame(
        {"churn_propensity": z1, "offer_sensitivity": np.exp(-1.2 + 0.7 * z2)},
        index=pd.Index(customer_ids.to_numpy(), name="customer_id"),
    )


def _offers(session: Session, *, since: date, until: date) -> pd.DataFrame:
    o, c, p, st = (m.__table__ for m in (Offer, Campaign, Product, StockLevel))
    day = func.coalesce(o.c.send_date, c.c.send_date)
    statement = (
        select(
            o.c.id.label("offer_id"),
            o.c.customer_id,
            o.c.holdout,
            o.c.sku,
            o.c.discount_pct,
            o.c.credit_amount,
            o.c.sent_at,
            day.label("send_date"),
            p.c.price,
            st.c.on_hand,
        )
        .select_from(
            o.join(c, c.c.id == o.c.campaign_id)
            .outerjoin(p, p.c.sku == o.c.sku)
            .outerjoin(st, st.c.sku == o.c.sku)
        )
        .where(
            c.c.status.in_((Status.APPROVED.value, Status.SENT.value)),
            or_(
                and_(o.c.holdout.is_(False), o.c.sent_at.is_not(None)),
                and_(
                    o.c.holdout.is_(True),
                    o.c.status.not_in((Status.SUPPRESSED.value, Status.REJECTED.value)),
                ),
            ),
            day >= since,
            day < until,
        )
    )
    rows = session.connection().execute(statement).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=list(statement.selected_columns.keys()))
    sent = frame["sent_at"].map(lambda t: t.date() if t is not None else None)
    frame["start"] = sent.where(~frame["holdout"].astype(bool), frame["send_date"])
    return frame


def responses(offers: pd.DataFrame, traits: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """Per offer: whether the customer orders, on which day after the start, and why (pure)."""
    keys = offers["offer_id"].to_numpy(dtype=np.int64)
    found = traits.reindex(offers["customer_id"])
    missing = found["churn_propensity"].isna().to_numpy()
    if missing.any():
        filler = hashed_traits(offers.loc[missing, "customer_id"], seed=seed)
        found.loc[missing, TRAIT_COLUMNS] = filler[TRAIT_COLUMNS].to_numpy()
    propensity = found["churn_propensity"].to_numpy(float)
    sensitivity = found["offer_sensitivity"].to_numpy(float)
    treated = ~offers["holdout"].astype(bool).to_numpy()
    push = offers["discount_pct"].fillna(0).to_numpy(float)
    push = np.where(offers["credit_amount"].fillna(0).to_numpy(float) > 0, CREDIT_AS_DISCOUNT, push)
    has_sku = offers["sku"].notna().to_numpy()
    out_of_stock = treated & has_sku & (offers["on_hand"].fillna(0).to_numpy(float) <= 0)
    logit = BASE_LOGIT - 0.75 * propensity
    logit = logit + treated * sensitivity * (0.6 + push / 100.0 * 6.0)
    logit = np.where(out_of_stock, BASE_LOGIT - 0.75 * propensity - OUT_OF_STOCK_PENALTY, logit)
    chance = 1.0 / (1.0 + np.exp(-logit))
    return pd.DataFrame(
        {
            "offer_id": keys,
            "orders": _uniform(keys, seed * 7919 + 11) < chance,
            "offset": np.floor(_uniform(keys, seed * 7919 + 13) * RESPONSE_DAYS).astype(int),
            "quantity": 1 + (_uniform(keys, seed * 7919 + 17) < 0.3),
            "out_of_stock": out_of_stock,
            "chance": chance,
        }
    )


def simulate(
    *,
    session: Session,
    actor: Actor,
    as_of: date,
    now: datetime,
    traits: pd.DataFrame | None,
    seed: int = 0,
    lookback_days: int = 14,
) -> int:
    """Write the responses to offers started in the `lookback_days` before as_of; orders dated before as_of."""
    require(actor, Permission.IMPORT_DATA)
    offers = _offers(session, since=as_of - timedelta(days=lookback_days), until=as_of)
    if offers.empty:
        return 0
    traits = traits if traits is not None else pd.DataFrame(columns=TRAIT_COLUMNS)
    drawn = responses(offers, traits, seed=seed)
    frame = offers.merge(drawn, on="offer_id")
    frame["day"] = pd.to_datetime(frame["start"]) + pd.to_timedelta(frame["offset"], unit="D")
    due = frame["day"] < pd.Timestamp(as_of)
    buying = frame[frame["orders"] & due].copy()
    unit = buying["price"].fillna(25.0).astype(float)
    discount = np.where(buying["holdout"].astype(bool), 0.0, buying["discount_pct"].fillna(0) / 100)
    gross = unit * buying["quantity"]
    buying["discount_amount"] = (gross * discount).round(2)
    buying["amount"] = (gross - buying["discount_amount"]).round(2)
    buying["order_id"] = "R" + buying["offer_id"].astype(str).str.zfill(9)
    conn = session.connection()
    write_frame(
        conn,
        Order.__table__,
        pd.DataFrame(
            {
                "order_id": buying["order_id"],
                "customer_id": buying["customer_id"],
                "ordered_date": buying["day"].dt.date,
                "promised_date": (buying["day"] + pd.Timedelta(days=5)).dt.date,
                "status": "placed",
                "amount": buying["amount"],
                "discount_amount": buying["discount_amount"],
            }
        ),
        update=True,
    )
    write_frame(
        conn,
        OrderLine.__table__,
        pd.DataFrame(
            {
                "order_id": buying["order_id"],
                "line_no": 1,
                "sku": buying["sku"],
                "quantity": buying["quantity"].astype(int),
                "unit_price": unit,
                "discount_amount": buying["discount_amount"],
                "backordered": buying["out_of_stock"].astype(bool),
            }
        ),
        update=True,
    )
    # A customer promised a SKU that is not there says so in the survey.
    let_down = frame[frame["out_of_stock"] & due]
    write_frame(
        conn,
        SurveyResponse.__table__,
        pd.DataFrame(
            {
                "response_id": "RS" + let_down["offer_id"].astype(str).str.zfill(9),
                "customer_id": let_down["customer_id"],
                "responded_date": let_down["day"].dt.date,
                "score": 3,
                "comment": "The item in the offer was out of stock.",
            }
        ),
        update=True,
    )
    audit.record(
        session,
        actor=actor,
        action="demo.responses",
        entity_type="offers",
        entity_id=as_of.isoformat(),
        after={"offers": len(offers), "orders": len(buying), "let_down": len(let_down)},
        now=now,
    )
    log.info("Simulated %d order(s) from %d offer(s).", len(buying), len(offers))
    return len(buying)
