"""Who is signed in: the login form, the current actor, and the per-page permission gate."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core import users
from core.roles import Actor, Permission
from ui import db

ACTOR_KEY = "actor"


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def login_form() -> None:
    """Ask for name and password; on success remember the actor and rerun."""
    st.title("Easel")
    st.caption("Retention that knows what is on the shelf.")
    with st.form("login"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    config = db.settings()
    with db.session() as session:
        result = users.authenticate(
            session,
            username=username,
            password=password,
            now=db.now(),
            max_failures=config.login_max_failures,
            lockout=timedelta(minutes=config.login_lockout_minutes),
        )
        actor = result.user.as_actor() if result.user else None
    if actor is None:
        st.error(result.message)
        return
    st.session_state[ACTOR_KEY] = actor
    st.rerun()


def logout() -> None:
    st.session_state.pop(ACTOR_KEY, None)
    st.rerun()


def require(permission: Permission | None = None) -> Actor:
    """Stop the page unless someone is signed in (and holds the permission)."""
    actor = current_actor()
    if actor is None:
        st.warning("Please sign in.")
        st.stop()
    if permission is not None and not actor.can(permission):
        st.error("Your role does not give access to this page.")
        st.stop()
    return actor
