"""Erasure: remove a customer's personal data on their request (admins; audited by pseudonym)."""

import streamlit as st

from core import privacy
from core.errors import EaselError
from core.roles import Permission
from ui import auth, db

actor = auth.require(Permission.ERASE_CUSTOMERS)
st.title("Erase a customer")
st.caption(
    "Removes the customer's name, e-mail address, contact consents, survey comments and the "
    "address kept with their sends. Orders, scores and offers stay. The audit trail names the "
    "customer only by a pseudonym; see SECURITY.md for what earlier events still hold."
)

with st.form("erase", clear_on_submit=True):
    customer_id = st.text_input("Customer id")
    reason = st.text_input("Reason", help="The request's reference; no name or address.")
    sure = st.checkbox("I understand that this cannot be undone.")
    if st.form_submit_button("Erase", type="primary"):
        if not sure:
            st.error("Tick the box to confirm the erasure.")
        else:
            config = db.settings()
            try:
                key = privacy.load_key(config.pseudonym_key, config.data_dir)
                with db.session() as session:
                    done = privacy.erase_customer(
                        session,
                        actor=actor,
                        customer_id=customer_id.strip(),
                        reason=reason,
                        key=key,
                        now=db.now(),
                    )
                st.success(f"Erased. The audit trail records it as {done.pseudonym}.")
            except EaselError as error:
                st.error(str(error))
