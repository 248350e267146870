"""Users: who may sign in, and with which role."""

import streamlit as st

from core import users
from core.errors import EaselError
from core.roles import LOGIN_ROLES, Permission
from ui import auth, db

actor = auth.require(Permission.MANAGE_USERS)
st.title("Users")

with db.session() as session:
    accounts = users.list_users(session)
st.dataframe(
    [
        {"User": u.username, "Role": u.role, "Active": u.active, "Locked until": u.locked_until}
        for u in accounts
    ],
    hide_index=True,
)

left, right = st.columns(2)
with left, st.form("add_user", clear_on_submit=True):
    st.subheader("Add a user")
    username = st.text_input("User name")
    role = st.selectbox("Role", [r.value for r in LOGIN_ROLES])
    password = st.text_input("Password", type="password", help="At least 8 characters.")
    if st.form_submit_button("Add user", type="primary"):
        try:
            with db.session() as session:
                users.add_user(
                    session,
                    actor=actor,
                    username=username,
                    role=role,
                    password=password,
                    now=db.now(),
                )
            st.toast(f"Added {username} as {role}.")
            st.rerun()
        except EaselError as error:
            st.error(str(error))

with right, st.form("set_role"):
    st.subheader("Change a role")
    who = st.selectbox("User", [u.username for u in accounts])
    new_role = st.selectbox("New role", [r.value for r in LOGIN_ROLES], key="new_role")
    reason = st.text_input("Reason")
    if st.form_submit_button("Change role"):
        try:
            with db.session() as session:
                users.set_role(
                    session, actor=actor, username=who, role=new_role, reason=reason, now=db.now()
                )
            st.toast(f"{who} is now {new_role}.")
            st.rerun()
        except EaselError as error:
            st.error(str(error))
