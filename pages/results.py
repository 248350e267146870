"""Results: did the campaigns work? Treated against holdout, with confidence intervals."""

import plotly.graph_objects as go
import streamlit as st

from core import measurement, results
from core.roles import Permission
from ui import auth, db, fmt

auth.require(Permission.READ_AUDIT)
st.title("Results")

with db.session() as session:
    types = results.campaign_types(session)
r1, r2 = st.columns(2)
campaign_type = r1.selectbox("Campaign", [None, *types], format_func=lambda c: c or "All")
weeks = r2.slider("Weeks", min_value=1, max_value=52, value=12)
with db.session() as session:
    found = results.campaign_results(session, weeks=weeks, campaign_type=campaign_type)

if not found.has_outcomes:
    st.info(
        "Not enough data yet: no campaign has measured outcomes. Results appear once offers "
        "have been sent and the outcome job has linked orders to them."
    )
    st.stop()

table = found.table
enough = found.enough
st.caption(
    f"{fmt.count(found.measured_offers)} measured offers · {len(enough)} of {len(table)} "
    f"campaign-weeks have at least {measurement.MIN_PER_GROUP} customers in each group"
)
if enough.empty:
    st.warning(
        f"Not enough data yet: every campaign-week has fewer than {measurement.MIN_PER_GROUP} customers in treatment or holdout."
    )
else:
    for title, column, axis_format in (
        ("Conversion uplift (treated − holdout)", "conversion_uplift", ".1%"),
        ("Incremental revenue", "incremental_revenue", "$,.0f"),
    ):
        figure = go.Figure()
        for campaign, rows in enough.groupby("campaign"):
            figure.add_scatter(
                x=rows["week"],
                y=rows[column],
                mode="markers+lines",
                name=str(campaign),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": rows[f"{column}_high"] - rows[column],
                    "arrayminus": rows[column] - rows[f"{column}_low"],
                },
            )
        figure.add_hline(y=0, line_dash="dot")
        figure.update_layout(
            title=title, yaxis_tickformat=axis_format, height=340, margin={"t": 40}
        )
        st.plotly_chart(figure, use_container_width=True)

st.dataframe(
    table[
        [
            "campaign",
            "week",
            "treated",
            "holdout_customers",
            "conversion_treated",
            "conversion_holdout",
            "conversion_uplift",
            "conversion_uplift_low",
            "conversion_uplift_high",
            "revenue_per_customer_treated",
            "revenue_per_customer_holdout",
            "incremental_revenue",
            "incremental_revenue_low",
            "incremental_revenue_high",
            "verdict",
        ]
    ],
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(format="percent")
        for c in (
            "conversion_treated",
            "conversion_holdout",
            "conversion_uplift",
            "conversion_uplift_low",
            "conversion_uplift_high",
        )
    }
    | {
        c: st.column_config.NumberColumn(format="dollar")
        for c in (
            "revenue_per_customer_treated",
            "revenue_per_customer_holdout",
            "incremental_revenue",
            "incremental_revenue_low",
            "incremental_revenue_high",
        )
    },
)
