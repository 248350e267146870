"""Overview: the marketplace this week, at a glance."""

import plotly.graph_objects as go
import streamlit as st

from core import inventory, jobruns, overview, pauses, summaries
from ui import auth, db, fmt

auth.require()
st.title("Overview")

now = db.now()
today = now.date()
with db.session() as session:
    summary = overview.marketplace_summary(session, as_of=today)
    issues = overview.supplier_issues(session)
    bands = overview.risk_by_band(session)
    waiting = overview.awaiting_approval(session)
    active = pauses.active(session, now=now)
    short = inventory.short_skus(session, as_of=today, now=now, limit=10)
    runs = jobruns.latest_runs(session, limit=8)
    trend = overview.monthly_trend(session, as_of=today)

if summary.customers == 0:
    st.info(
        "No data yet. An admin can import files (`easel import`) or load the demo (`easel demo`)."
    )

c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Customers", fmt.count(summary.customers))
c2.metric("Orders, last 30 days", fmt.count(summary.orders_last_30_days))
c3.metric(
    "Repeat-purchase rate",
    fmt.share(summary.repeat_purchase_rate),
    help="Buyers with two orders or more.",
)
c4.metric("SKUs below reorder point", fmt.count(summary.skus_below_reorder_point))
c5.metric("Suppliers with issues", fmt.count(summary.suppliers_with_issues))
summarised = summaries.as_of_note(summary.summarised_at, now=now)
st.caption(
    f"Revenue in the last 30 days: {fmt.money(summary.revenue_last_30_days)} · as of "
    f"{today:%d %b %Y} · {summarised}"
)

st.subheader("Customers at risk")
if bands.empty:
    st.caption("No scores yet: they appear after the first scoring run (`easel score`).")
else:
    st.caption(f"Scored as of {bands['as_of'].iloc[0]}")
    for column, row in zip(st.columns(len(bands)), bands.itertuples(), strict=True):
        column.metric(
            f"{row.risk_band.capitalize()} risk",
            fmt.count(int(row.customers)),
            f"{fmt.money(row.value_at_risk)} at risk",
            delta_color="off",
        )

left, right = st.columns(2)
with left:
    st.subheader("Waiting for approval")
    if waiting.empty:
        st.caption("No campaign is waiting for a decision.")
    else:
        st.dataframe(
            waiting[["week", "campaign_type", "status", "audience_size", "expected_revenue"]],
            hide_index=True,
            column_config={
                "expected_revenue": st.column_config.NumberColumn(
                    "Expected revenue", format="dollar"
                )
            },
        )
    st.subheader("Active pauses")
    if not active:
        st.caption("No offers are paused.")
    for pause in active:
        st.markdown(f"- {pause.describe()} (by {pause.created_by})")
with right:
    st.subheader("Cover shorter than lead time")
    if short.empty:
        st.caption("Every SKU with demand is covered beyond its supplier's lead time.")
    else:
        st.dataframe(
            short[["sku", "name", "on_hand", "days_of_cover", "lead_time_days", "next_arrival"]],
            hide_index=True,
            column_config={"days_of_cover": st.column_config.NumberColumn(format="%.1f")},
        )
    st.subheader("Last job runs")
    if not runs:
        st.caption("No job has run yet.")
    else:
        st.dataframe(
            [
                {"Job": r.job, "Status": r.status, "Started": r.started_at, "Rows": r.rows}
                for r in runs
            ],
            hide_index=True,
        )

st.subheader("Repeat purchase and lapsing, by month")
if trend.empty:
    st.caption("No orders in the last year.")
else:
    figure = go.Figure()
    figure.add_scatter(
        x=trend["month"], y=trend["repeat_purchase_rate"], name="Bought again within 3 months"
    )
    figure.add_scatter(x=trend["month"], y=trend["lapse_rate"], name="Lapsed for 3 months after")
    figure.update_layout(yaxis_tickformat=".0%", height=320, margin={"t": 10})
    st.plotly_chart(figure, use_container_width=True)
    st.caption(f"Monthly figures: {summarised}.")

if issues:
    st.subheader("Supplier issues")
    st.dataframe(
        [
            {"Supplier": s.name, "Status": s.status, "Lead time (days)": s.lead_time_days}
            for s in issues
        ],
        hide_index=True,
    )
