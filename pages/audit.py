"""Audit trail: every change, who made it and why, and whether the chain is intact."""

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from core import audit, audit_views
from core.roles import Permission
from ui import auth, db, fmt

auth.require(Permission.READ_AUDIT)
st.title("Audit trail")

with db.session() as session:
    menus = audit_views.choices(session)

# Checking the chain reads every event (about 10 s per million): on request, not on every visit.
if st.button("Check the audit chain", icon=":material/verified:"):
    with st.spinner("Checking every event's hash…"), db.session() as session:
        st.session_state["audit_chain_check"] = (audit.verify(session), datetime.now(UTC))
if checked := st.session_state.get("audit_chain_check"):
    report, at = checked
    (st.success if report.ok else st.error)(f"{report.describe()} (checked {at:%H:%M} UTC)")


def _any(label: str, options: list[str], column) -> str | None:
    return column.selectbox(label, [None, *options], format_func=lambda v: v or "Any")


f1, f2, f3, f4 = st.columns(4)
who = _any("Person", menus["actor"], f1)
role = _any("Role", menus["role"], f2)
action = _any("Action", menus["action"], f3)
entity_type = _any("Entity type", menus["entity_type"], f4)
g1, g2, g3, g4 = st.columns(4)
entity_id = g1.text_input("Entity id")
since = g2.date_input("From", value=None)
until = g3.date_input("To (inclusive)", value=None)
page_number = g4.number_input("Page", min_value=1, value=1, step=1)

filters = audit_views.AuditFilter(
    actor=who,
    role=role,
    action=action,
    entity_type=entity_type,
    entity_id=entity_id.strip() or None,
    since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
    until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None,
)
with db.session() as session:
    result = audit_views.search(session, filters=filters, page=page_number)
st.caption(f"{fmt.count(result.total)} events · page {result.page} of {result.pages}")
selection = st.dataframe(
    result.rows.drop(columns=["before", "after"]),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
)
if result.total:

    def _exported() -> str:
        """Built when the button is clicked, not on every visit."""
        with db.session() as session:
            return "".join(audit_views.export_csv(session, filters=filters))

    st.download_button(
        "Export these events (CSV)",
        _exported,
        file_name="audit_events.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",  # a rerun on click would revoke the file before it is built
    )

chosen = selection.selection.rows if selection else []
if chosen:
    event_id = int(result.rows.iloc[chosen[0]]["id"])
    with db.session() as session:
        event = audit_views.diff(session, event_id=event_id)
    st.subheader(f"Event {event_id}: before and after")
    b, a = st.columns(2)
    b.caption("Before")
    b.json(event.before if event.before is not None else {}, expanded=True)
    a.caption("After")
    a.json(event.after if event.after is not None else {}, expanded=True)
    if not event.changes.empty:
        st.dataframe(event.changes, hide_index=True)
else:
    st.caption("Select an event to see its before and after side by side.")

st.subheader("Override scorecard")
with db.session() as session:
    card = audit_views.override_scorecard(session)
s1, s2, s3 = st.columns(3)
s1.metric("Offers proposed", fmt.count(card.proposals))
s2.metric("Changed by people", fmt.count(card.changed))
s3.metric("Share changed", fmt.share(card.changed_share))
if not card.by_person.empty:
    st.dataframe(card.by_person, hide_index=True)
if card.outcomes is None:
    st.info("No outcomes yet: changed offers are compared with the model's once results arrive.")
else:
    st.caption(
        "Uplift above zero: the offers people changed did better than comparable unchanged ones."
    )
    st.dataframe(
        card.outcomes[
            [
                "campaign",
                "treated",
                "holdout_customers",
                "conversion_treated",
                "conversion_holdout",
                "conversion_uplift",
                "revenue_uplift",
                "verdict",
            ]
        ].rename(columns={"treated": "changed", "holdout_customers": "unchanged"}),
        hide_index=True,
    )
