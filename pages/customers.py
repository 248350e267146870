"""At-risk customers: who may leave, why, what they are offered, and changing those offers."""

import streamlit as st

from core import approval_views, approvals, campaign_reviews, customers
from core.roles import Permission
from ui import auth, db, feedback, story

actor = auth.require(Permission.VIEW_CUSTOMERS)
st.title("At-risk customers")
feedback.show_pending()
now = db.now()

with db.session() as session:
    region_choices = customers.regions(session)
    category_choices = customers.categories(session)
    week = customers.latest_offer_week(session)

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
        session, filters=filters, today=now.date(), sort=sort, page=page_number
    )
    offers = customers.offers_for(session, customer_ids=list(result.rows["customer_id"]), week=week)
if result.as_of is None:
    st.info("No scores yet. Scores appear after the first scoring run (`easel score`).")
    st.stop()

open_offers = customers.open_offer_per_customer(offers).set_index("customer_id")
seen = {
    int(o.offer_id): feedback.seen_version(f"offer-{o.offer_id}", int(o.version))
    for o in open_offers.itertuples()
}
rows = result.rows.assign(offer=result.rows["customer_id"].map(story.offer_lines(open_offers)))
st.caption(
    f"{result.total_text} customers match · page {result.page} of {result.pages}"
    f"{'+' if result.more else ''} · "
    f"scored as of {result.as_of:%d %b %Y} · offers of {week or 'no week yet'}"
)
selection = st.dataframe(
    rows,
    hide_index=True,
    on_select="rerun",
    selection_mode="multi-row",
    key="at_risk",
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
        "offer": st.column_config.TextColumn("Offer this week", width="large"),
    },
)
chosen = [rows.iloc[i]["customer_id"] for i in (selection.selection.rows if selection else [])]
if not chosen:
    st.caption("Select a row to see the customer's story; select several to exclude them at once.")
    st.stop()
may_override = actor.can(Permission.OVERRIDE_OFFERS)

if len(chosen) > 1 and may_override:
    ids = open_offers.loc[open_offers.index.intersection(chosen), "offer_id"].astype(int)
    bulk = {offer_id: seen[offer_id] for offer_id in ids}
    with st.form("bulk"):
        st.markdown(f"**{len(chosen)} customers selected, {len(bulk)} with an offer to change**")
        bulk_reason = st.text_input("Why exclude them")
        excluded = st.form_submit_button("Exclude from this week's offers", icon=":material/block:")
    if excluded:
        feedback.act(
            lambda session: approvals.exclude_offers(
                session=session, versions=bulk, actor=actor, reason=bulk_reason, now=now
            ),
            done=f"Excluded {len(bulk)} customers from this week's offers.",
            icon=":material/block:",
        )

customer_id = chosen[0]
with db.session() as session:
    customer_story = customers.story(session, customer_id=customer_id)
    campaigns = approval_views.campaign_choices(session, week=week)
name = f" · {customer_story.customer.name}" if customer_story.customer.name else ""
st.subheader(f"Customer {customer_id}{name}")
story.show_offers(offers[offers["customer_id"] == customer_id])

if may_override and customer_id in open_offers.index:
    offer = open_offers.loc[customer_id]
    offer_id = int(offer["offer_id"])
    with st.form("override"):
        change = st.radio("Change", ["discount", "SKU", "campaign", "exclude"], horizontal=True)
        o1, o2, o3 = st.columns(3)
        discount = o1.number_input("Discount %", 0.0, 90.0, float(offer["discount_pct"]), 1.0)
        sku = o2.text_input("SKU", value=offer["sku"] or "")
        others = {k: v for k, v in campaigns.items() if k != offer["campaign_id"]}
        target = o3.selectbox("Campaign", list(others), format_func=others.get)
        reason = st.text_input("Why change this offer")
        overridden = st.form_submit_button("Override offer", icon=":material/edit:")
    if overridden and change == "campaign":
        feedback.act(
            lambda session: approvals.move_offer(
                session=session,
                offer_id=offer_id,
                campaign_id=target,
                actor=actor,
                reason=reason,
                now=now,
                expected_version=seen[offer_id],
            ),
            done=f"Moved {customer_id} to the {others.get(target)} campaign.",
        )
    elif overridden:
        feedback.act(
            lambda session: campaign_reviews.override_offer(
                session=session,
                offer_id=offer_id,
                actor=actor,
                reason=reason,
                now=now,
                expected_version=seen[offer_id],
                discount_pct=discount if change == "discount" else None,
                sku=sku.strip() if change == "SKU" else None,
                exclude=change == "exclude",
            ),
            done=f"Offer of {customer_id}: {change} overridden.",
        )

story.show(customer_story)
