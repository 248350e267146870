"""Campaign approval: the week's proposed campaigns to approve, edit or reject."""

import streamlit as st

from core import approval_views as views
from core import campaign_reviews, freshness, manager_approval
from core.roles import Permission
from ui import auth, charts, db, feedback, fmt

actor = auth.require(Permission.APPROVE_CAMPAIGNS)
st.title("Campaign approval")
feedback.show_pending()
now = db.now()

stock_max_age = freshness.max_age(db.settings())
with db.session() as session:
    weeks = views.weeks(session)
    stock_feed = freshness.check(session, now=now, max_age=stock_max_age)
if not stock_feed.fresh:
    st.warning(stock_feed.message, icon=":material/inventory:")
if not weeks:
    st.info("No proposals yet. The weekly proposal job (or `easel propose`) creates them.")
    st.stop()
week = st.selectbox("Week", weeks)
with db.session() as session:
    campaigns = views.week_campaigns(session, week=week)
st.dataframe(
    campaigns.drop(columns=["id", "version", "reviewed_at"]).assign(
        campaign_type=campaigns["campaign_type"].map(fmt.campaign)
    ),
    hide_index=True,
    column_config={
        "campaign_type": "Campaign",
        "status": "Status",
        "send_date": st.column_config.DateColumn("Sends", format="ddd D MMM"),
        "discount_pct": st.column_config.NumberColumn("Discount", format="%.0f%%"),
        "audience_cap": st.column_config.NumberColumn("Audience cap", format="%d"),
        "audience_size": "Audience",
        "holdout_size": "Holdout",
        "suppressed_size": "Suppressed",
        "expected_uptake": st.column_config.NumberColumn("Expected uptake", format="%.1f"),
        "expected_cost": st.column_config.NumberColumn("Discount cost", format="dollar"),
        "expected_revenue": st.column_config.NumberColumn("Expected revenue", format="dollar"),
        "needs_manager_approval": "Manager needed",
        "reviewed_by": "Reviewed by",
        "review_reason": "Review reason",
    },
)

labels = {
    int(row.id): f"{fmt.campaign(row.campaign_type)} · {row.status}"
    for row in campaigns.itertuples()
}
waiting = [i for i, row in enumerate(campaigns.itertuples()) if row.status in views.DECIDABLE]
campaign_id = st.radio(
    "Campaign",
    list(labels),
    format_func=labels.get,
    horizontal=True,
    index=(waiting or [0])[0],
    key=f"campaign-{week}",
)
with db.session() as session:
    campaign = views.get_campaign(session, campaign_id)
    impact = views.stock_impact(session, campaign=campaign, now=now)
    # Inside the session: the manager's stock-share limit is read from the settings.
    state, decidable = views.approval_state(campaign, actor)
    may_approve = decidable and manager_approval.may_approve(campaign, actor)
seen = feedback.seen_version(f"campaign-{campaign_id}", campaign.version)
title = fmt.campaign(campaign.campaign_type)
name = title.lower()

st.subheader(f"{title} · {campaign.week} · sends {campaign.send_date:%a %d %b}")
m = st.columns(6)
m[0].metric("Audience", fmt.count(campaign.audience_size))
m[1].metric("Holdout", fmt.count(campaign.holdout_size))
m[2].metric(
    "Offer", f"{campaign.discount_pct:.0f}% off" if campaign.discount_pct else "no discount"
)
m[3].metric("Expected uptake", f"{campaign.expected_uptake:,.1f}")
m[4].metric("Discount cost", fmt.money(campaign.expected_cost))
m[5].metric("Expected revenue", fmt.money(campaign.expected_revenue))
(st.info if decidable else st.success)(state)
if campaign.explanation:
    st.caption(campaign.explanation)
if campaign.message_template:
    st.caption(f"Message: {campaign.message_template}")

if impact.empty:
    st.caption("This campaign features no SKU: it pulls nothing from stock.")
else:
    st.plotly_chart(charts.stock_impact(impact))
    if impact["short_after"].any():
        short = ", ".join(impact.loc[impact["short_after"], "sku"])
        st.warning(f"After this campaign, cover is shorter than the lead time for: {short}.")

b1, b2, _ = st.columns([1, 1, 4])
if b1.button("Approve", type="primary", disabled=not may_approve, icon=":material/check:"):
    feedback.open_dialog("approve", campaign_id=campaign_id, version=seen)
if b2.button("Reject", disabled=not decidable, icon=":material/block:"):
    feedback.open_dialog("reject", campaign_id=campaign_id, version=seen)

if feedback.dialog_data("approve"):
    feedback.confirm(
        "approve",
        title="Approve this campaign?",
        prompt=f"{fmt.count(campaign.audience_size)} customers will receive the {name} offer "
        "once it is scheduled.",
        button="Approve",
        icon=":material/check:",
        action=lambda session, reason, opened: campaign_reviews.approve(
            session=session,
            campaign_id=opened["campaign_id"],
            actor=actor,
            reason=reason,
            now=now,
            expected_version=opened["version"],
            stock_max_age=stock_max_age,
        ),
        done=f"Approved the {name} campaign of {campaign.week}.",
    )
if feedback.dialog_data("reject"):
    feedback.confirm(
        "reject",
        title="Reject this campaign?",
        prompt=f"None of its {fmt.count(campaign.audience_size)} offers will be sent this week.",
        button="Reject",
        icon=":material/block:",
        action=lambda session, reason, opened: campaign_reviews.reject(
            session=session,
            campaign_id=opened["campaign_id"],
            actor=actor,
            reason=reason,
            now=now,
            expected_version=opened["version"],
        ),
        done=f"Rejected the {name} campaign of {campaign.week}.",
    )

with st.expander("Edit discount, audience cap or send date", icon=":material/edit:"):
    with st.form("edit"):
        e1, e2, e3 = st.columns(3)
        discount = e1.number_input("Discount %", 0.0, 90.0, float(campaign.discount_pct), 1.0)
        current_cap = campaign.audience_cap or campaign.audience_size
        cap = e2.number_input("Audience cap", 0, None, int(current_cap), 10)
        send_date = e3.date_input("Send date", campaign.send_date)
        edit_reason = st.text_input("Why this change")
        submitted = st.form_submit_button("Save edit", icon=":material/save:")
    st.caption("An edit resets the approval: the campaign must be approved again.")
if submitted:
    changes = {
        "discount_pct": discount if discount != campaign.discount_pct else None,
        "audience_cap": int(cap) if cap != current_cap else None,
        "send_date": send_date if send_date != campaign.send_date else None,
    }
    if all(v is None for v in changes.values()):
        st.error("Nothing was changed.")
    else:
        feedback.act(
            lambda session: campaign_reviews.edit(
                session=session,
                campaign_id=campaign_id,
                actor=actor,
                reason=edit_reason,
                now=now,
                expected_version=seen,
                **changes,
            ),
            done=f"Edited the {name} campaign; it needs approving again.",
            icon=":material/edit:",
        )
