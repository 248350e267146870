"""Audit trail: every change, who made it and why, and whether the chain is intact."""

import streamlit as st

from core import audit
from core.roles import Permission
from ui import auth, db

auth.require(Permission.READ_AUDIT)
st.title("Audit trail")

with db.session() as session:
    report = audit.verify(session)
(st.success if report.ok else st.error)(report.describe())

f1, f2, f3 = st.columns(3)
who = f1.text_input("Person")
action = f2.text_input("Action", placeholder="e.g. user.add")
entity = f3.text_input("Entity type", placeholder="e.g. user")
page = st.number_input("Page", min_value=1, value=1, step=1)
size = 50
with db.session() as session:
    events = audit.search(
        session,
        actor=who or None,
        action=action or None,
        entity_type=entity or None,
        limit=size,
        offset=(page - 1) * size,
    )
st.dataframe(
    [
        {
            "When": e.at,
            "Who": e.actor,
            "Role": e.role,
            "Action": e.action,
            "Entity": f"{e.entity_type} {e.entity_id or ''}",
            "Before": e.before,
            "After": e.after,
            "Reason": e.reason,
        }
        for e in events
    ],
    hide_index=True,
)
if not events:
    st.caption("No events match.")
