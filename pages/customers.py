"""At-risk customers: who may leave, why, and what they are being offered."""

import plotly.express as px
import streamlit as st

from core import customers
from core.roles import Permission
from ui import auth, db, fmt

auth.require(Permission.VIEW_CUSTOMERS)
st.title("At-risk customers")

with db.session() as session:
    region_choices = customers.regions(session)
    category_choices = customers.categories(session)

f1, f2, f3, f4, f5 = st.columns([2, 1, 1, 1, 1])
bands = f1.multiselect("Risk band", ["high", "medium", "low"], default=["high", "medium"])
min_value = f2.number_input("Min. expected value ($)", min_value=0.0, value=0.0, step=10.0)
region = f3.selectbox("Region", [None, *region_choices], format_func=lambda r: r or "All")
category = f4.selectbox(
    "Bought in category", [None, *category_choices], format_func=lambda c: c or "Any"
)
delayed = f5.checkbox("Late order in 90 days")
s1, s2, s3 = st.columns([2, 1, 1])
search = s1.text_input("Customer id starts with")
sort = s2.selectbox("Sort by", list(customers.SORTS))
page_number = s3.number_input("Page", min_value=1, value=1, step=1)

filters = customers.AtRiskFilter(
    risk_bands=tuple(bands),
    min_expected_value=min_value,
    region=region,
    category=category,
    delayed_within_days=90 if delayed else None,
    search=search or None,
)
with db.session() as session:
    result = customers.at_risk(
        session, filters=filters, today=db.now().date(), sort=sort, page=page_number
    )

if result.as_of is None:
    st.info("No scores yet. Scores appear after the first scoring run (`easel score`).")
    st.stop()

st.caption(
    f"{fmt.count(result.total)} customers match · page {result.page} of {result.pages} · scored as of {result.as_of:%d %b %Y}"
)
selection = st.dataframe(
    result.rows,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "customer_id": "Customer",
        "name": "Name",
        "region": "Region",
        "churn_probability": st.column_config.ProgressColumn(
            "Churn risk", min_value=0, max_value=1, format="percent"
        ),
        "risk_band": "Band",
        "expected_value": st.column_config.NumberColumn("Expected value", format="dollar"),
        "value_at_risk": st.column_config.NumberColumn("Value at risk", format="dollar"),
        "reasons": st.column_config.TextColumn("Why", width="large"),
    },
)

chosen = selection.selection.rows if selection else []
if not chosen:
    st.caption("Select a row to see the customer's story.")
    st.stop()

customer_id = result.rows.iloc[chosen[0]]["customer_id"]
with db.session() as session:
    story = customers.story(session, customer_id=customer_id)
st.subheader(
    f"Customer {customer_id}" + (f" · {story.customer.name}" if story.customer.name else "")
)
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
    st.plotly_chart(chart, use_container_width=True)
    st.dataframe(
        orders[
            [
                "order_id",
                "ordered_date",
                "promised_date",
                "delivered_date",
                "days_late",
                "status",
                "amount",
            ]
        ],
        hide_index=True,
    )
if not story.surveys.empty:
    st.plotly_chart(
        px.line(
            story.surveys,
            x="responded_date",
            y="score",
            markers=True,
            range_y=[0, 10],
            title="Survey scores",
        ),
        use_container_width=True,
    )
if not story.tickets.empty:
    st.dataframe(
        story.tickets[["opened_date", "topic", "is_complaint", "resolved_date"]], hide_index=True
    )
