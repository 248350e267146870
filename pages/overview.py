"""Overview: the marketplace this week, at a glance."""

import streamlit as st

from core import overview
from ui import auth, db, fmt

auth.require()
st.title("Overview")

today = db.now().date()
with db.session() as session:
    summary = overview.marketplace_summary(session, as_of=today)
    issues = overview.supplier_issues(session)

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
st.caption(
    f"Revenue in the last 30 days: {fmt.money(summary.revenue_last_30_days)} · as of {today:%d %b %Y}"
)

if issues:
    st.subheader("Supplier issues")
    st.dataframe(
        [
            {"Supplier": s.name, "Status": s.status, "Lead time (days)": s.lead_time_days}
            for s in issues
        ],
        hide_index=True,
    )
