"""One customer's story on screen: risk, reasons, orders and deliveries, surveys, complaints,
and the offer proposed for them with why."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.customers import CustomerStory
from ui import fmt

ORDER_COLUMNS = [
    "order_id",
    "ordered_date",
    "promised_date",
    "delivered_date",
    "days_late",
    "status",
    "amount",
]


def show(story: CustomerStory) -> None:
    """Score and reasons, then the order timeline (late deliveries in red), surveys, tickets."""
    if story.score:
        m1, m2, m3 = st.columns(3)
        m1.metric(
            "Churn risk",
            fmt.share(story.score.churn_probability),
            story.score.risk_band,
            delta_color="off",
        )
        m2.metric("Expected value", fmt.money(story.score.expected_value))
        m3.metric("Value at risk", fmt.money(story.score.value_at_risk))
    for reason in story.reasons:
        st.markdown(f"- {reason}")
    if not story.orders.empty:
        orders = story.orders.assign(late=story.orders["days_late"].fillna(0) > 0)
        chart = px.scatter(
            orders,
            x="ordered_date",
            y="amount",
            color="late",
            symbol="status",
            hover_data=["order_id", "promised_date", "delivered_date", "days_late"],
            color_discrete_map={True: "#C0392B", False: "#3D6B7C"},
            title="Orders (red: delivered late)",
        )
        st.plotly_chart(chart)
        st.dataframe(orders[ORDER_COLUMNS], hide_index=True)
    if not story.surveys.empty:
        surveys = px.line(
            story.surveys, x="responded_date", y="score", markers=True, range_y=[0, 10]
        )
        st.plotly_chart(surveys.update_layout(title="Survey scores"))
    if not story.tickets.empty:
        st.dataframe(
            story.tickets[["opened_date", "topic", "is_complaint", "resolved_date"]],
            hide_index=True,
        )


def describe_offer(offer: pd.Series) -> str:
    """The offer in a line: campaign, SKU, discount or credit, channel, send date, status."""
    parts = [fmt.campaign(offer["campaign_type"]).lower()]
    if offer["sku"]:
        parts.append(f"on {offer['sku']}")
    if offer["discount_pct"]:
        parts.append(f"{offer['discount_pct']:.0f}% off")
    if offer["credit_amount"]:
        parts.append(f"{fmt.money(offer['credit_amount'])} credit")
    if offer["channel"]:
        parts.append(f"by {offer['channel']}")
    if offer["send_date"] is not None and pd.notna(offer["send_date"]):
        parts.append(f"on {pd.Timestamp(offer['send_date']):%d %b}")
    status = "holdout (never contacted)" if offer["holdout"] else offer["status"]
    return " · ".join(parts) + f" — {status}"


def offer_lines(offers: pd.DataFrame) -> pd.Series:
    """Each offer described in a line, with the same index as `offers`."""
    return pd.Series([describe_offer(o) for _, o in offers.iterrows()], index=offers.index)


def show_offers(offers: pd.DataFrame) -> None:
    """Each of the customer's offers this week with why this customer, offer and SKU."""
    if offers.empty:
        st.caption("No offer for this customer this week.")
        return
    for _, offer in offers.iterrows():
        st.markdown(f"**{describe_offer(offer)}**")
        for label, column in (
            ("Why this customer", "why_customer"),
            ("Why this offer", "why_offer"),
            ("Why this SKU", "why_sku"),
            ("Suppressed because", "reason"),
            (f"Changed by {offer['reviewed_by']}", "review_reason"),
        ):
            if offer[column]:
                st.caption(f"{label}: {offer[column]}")
