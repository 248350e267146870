"""Inventory and suppliers: stock cover, inbound arrivals, offer pauses and delayed customers."""

import streamlit as st

from core import inventory, pauses, service_recovery
from core.errors import EaselError
from core.roles import Permission
from ui import auth, db, fmt

actor = auth.require(Permission.PAUSE_OFFERS)
st.title("Inventory and suppliers")

now = db.now()
today = now.date()
with db.session() as session:
    category_choices = inventory.categories(session)
    supplier_frame = inventory.suppliers(session)
supplier_names = dict(zip(supplier_frame["supplier_id"], supplier_frame["name"], strict=True))

f1, f2, f3, f4 = st.columns([2, 2, 1, 1])
category = f1.selectbox("Category", [None, *category_choices], format_func=lambda c: c or "All")
supplier = f2.selectbox(
    "Supplier", [None, *supplier_names], format_func=lambda s: supplier_names.get(s, "All")
)
sort = f3.selectbox("Sort by", list(inventory.SKU_SORTS))
short_only = f4.checkbox("Short only", help="Cover shorter than the supplier's lead time.")
with db.session() as session:
    skus = inventory.sku_table(
        session,
        as_of=today,
        now=now,
        filters=inventory.SkuFilter(category, supplier, short_only),
        sort=sort,
    )
st.caption(f"{fmt.count(len(skus))} SKUs · {fmt.count(int(skus['short'].sum()))} short")
st.dataframe(
    skus,
    hide_index=True,
    column_config={
        "sku": "SKU",
        "name": "Product",
        "category": "Category",
        "supplier_id": None,
        "supplier": "Supplier",
        "supplier_status": "Supplier status",
        "on_hand": "On hand",
        "next_arrival": "Next arrival",
        "daily_demand": st.column_config.NumberColumn("Demand / day", format="%.2f"),
        "days_of_cover": st.column_config.NumberColumn("Days of cover", format="%.1f"),
        "lead_time_days": "Lead time (days)",
        "next_arrival_quantity": "Arriving units",
        "short": st.column_config.CheckboxColumn("Short"),
        "paused": st.column_config.CheckboxColumn("Paused"),
    },
)

st.subheader("Pause offers")
with st.form("pause", clear_on_submit=True):
    p1, p2, p3 = st.columns([1, 2, 1])
    scope = p1.selectbox("On", ["sku", "supplier", "category"])
    target = p2.text_input("SKU, supplier id or category")
    until = p3.date_input("Until (inclusive)", value=None, min_value=today)
    reason = st.text_input("Reason", placeholder="e.g. supplier strike, shipment delayed")
    submitted = st.form_submit_button("Pause offers", type="primary", icon=":material/pause:")
if submitted:
    try:
        with db.session() as session:
            made = pauses.pause(
                session=session,
                actor=actor,
                scope=scope,
                target=target,
                reason=reason,
                now=now,
                ends_at=inventory.end_of_day(until) if until else None,
            )
            message = f"Pause {made.id}: {made.describe()}"
    except EaselError as error:
        st.error(str(error))
    else:
        st.toast(message, icon=":material/pause:")

with db.session() as session:
    active = pauses.active(session, now=now)
st.subheader("Active pauses")
if not active:
    st.caption("No offers are paused.")
else:
    st.dataframe(
        [
            {
                "Id": p.id,
                "Scope": p.scope,
                "Target": p.target,
                "Reason": p.reason,
                "Until": p.ends_at,
                "By": p.created_by,
                "Automatic": p.automatic,
            }
            for p in active
        ],
        hide_index=True,
    )
    with st.form("lift"):
        l1, l2 = st.columns([1, 3])
        pause_id = l1.selectbox("Pause", [p.id for p in active])
        lift_reason = l2.text_input("Why lift it")
        lifted = st.form_submit_button("Lift pause", icon=":material/play_arrow:")
    if lifted:
        try:
            with db.session() as session:
                pauses.lift(
                    session=session, actor=actor, pause_id=pause_id, reason=lift_reason, now=now
                )
        except EaselError as error:
            st.error(str(error))
        else:
            st.toast(f"Pause {pause_id} lifted.", icon=":material/play_arrow:")
            st.rerun()

st.subheader("Customers whose orders were delayed")
d1, d2 = st.columns(2)
within = d1.selectbox(
    "Orders placed in the last", [14, 30, 60, 90], index=1, format_func="{} days".format
)
page_number = d2.number_input("Page", min_value=1, value=1, step=1)
with db.session() as session:
    delayed = inventory.delayed_customers(
        session, today=today, within_days=within, page=page_number
    )
st.caption(
    f"{fmt.count(delayed.total)} customers with a late or cancelled order since {delayed.since:%d %b %Y}"
    f" · page {delayed.page} of {delayed.pages}"
)
selection = st.dataframe(
    delayed.rows,
    hide_index=True,
    on_select="rerun",
    selection_mode="multi-row",
    key="delayed",
    column_config={
        "customer_id": "Customer",
        "name": "Name",
        "email": "E-mail",
        "late_orders": "Late orders",
        "cancelled_orders": "Cancelled",
        "worst_days_late": "Worst delay (days)",
        "last_affected": "Last affected order",
    },
)
chosen = [
    delayed.rows.iloc[i]["customer_id"] for i in (selection.selection.rows if selection else [])
]
if not actor.can(Permission.PROPOSE_SERVICE_RECOVERY):
    st.caption(
        "A service-recovery offer (apology and credit, never an upsell) is proposed for these "
        "customers by the weekly proposals on the Campaign approval page."
    )
elif delayed.total:
    count = len(chosen) or delayed.total
    people = f"{fmt.count(count)} customer{'s' if count != 1 else ''}"
    who = "selected" if chosen else f"with a late or cancelled order in the last {within} days"
    with st.form("recovery", clear_on_submit=True):
        st.markdown(
            f"An apology with credit for the {people} {who}, in this week's "
            "service-recovery campaign; it goes out once the campaign is approved."
        )
        recovery_reason = st.text_input("Why", placeholder="e.g. yarn shipment two weeks late")
        requested = st.form_submit_button(
            f"Propose service recovery for {people}",
            type="primary",
            icon=":material/volunteer_activism:",
            key="propose_recovery",
        )
    if requested:
        try:
            with db.session() as session:
                result = service_recovery.propose(
                    session=session,
                    actor=actor,
                    reason=recovery_reason,
                    now=now,
                    customer_ids=chosen or None,
                    within_days=within,
                )
        except EaselError as error:
            st.error(str(error))
        else:
            st.toast(result.describe(), icon=":material/volunteer_activism:")
            (st.success if result.created else st.warning)(result.describe())
