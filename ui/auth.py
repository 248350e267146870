"""Who is signed in: the login form (local accounts, and an identity provider when one is
configured), the current actor, and the per-page permission gate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import streamlit as st

from core import identity, users
from core.roles import Actor, Permission
from ui import db

ACTOR_KEY = "actor"
REFUSED_KEY = "identity_refused"


def auth_secrets(section: str = "auth") -> dict[str, Any]:
    """A section of .streamlit/secrets.toml (`[auth]` by default), or {} when there is none."""
    try:
        return dict(st.secrets[section]) if section in st.secrets else {}
    except (FileNotFoundError, KeyError):  # no secrets file at all
        return {}


def providers(auth: dict[str, Any]) -> list[str | None]:
    """Providers to offer: None for a single unnamed one, else the named `[auth.NAME]` tables."""
    if not auth:
        return []
    if "client_id" in auth:
        return [None]
    return [name for name, value in auth.items() if isinstance(value, Mapping)]


def _actor_from_provider(auth: dict[str, Any]) -> Actor | None:
    """Map the provider's signed-in identity to our user (and role); remember a refusal."""
    claims = st.user.to_dict() if auth else {}
    if not claims.get("is_logged_in"):
        return None
    with db.session() as session:
        user = identity.find_user(
            session,
            claims=claims,
            email_domains=auth_secrets("easel_auth").get("email_domains", ()),
        )
        actor = user.as_actor() if user else None
    if actor is None:
        who = claims.get("email") or claims.get("preferred_username") or "this account"
        st.session_state[REFUSED_KEY] = (
            f"{who} signed in at the identity provider, but has no Easel account. "
            "Ask an admin to create your user (same user name or e-mail)."
        )
        return None
    st.session_state[ACTOR_KEY] = actor
    return actor


def current_actor() -> Actor | None:
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None and REFUSED_KEY not in st.session_state:
        actor = _actor_from_provider(auth_secrets())
    return actor


def _provider_buttons() -> None:
    for provider in providers(auth_secrets()):
        label = (
            f"Sign in with {provider.title()}" if provider else "Sign in with your company account"
        )
        if st.button(label, key=f"login-{provider}", icon=":material/key:", type="primary"):
            st.login(provider)
    refused = st.session_state.get(REFUSED_KEY)
    if refused:
        st.error(refused)
        if st.button("Sign out of the identity provider"):
            st.session_state.pop(REFUSED_KEY, None)
            st.logout()


def login_form() -> None:
    """Offer the identity provider (if configured) and the local form; on success rerun."""
    st.title("Easel")
    st.caption("Retention that knows what is on the shelf.")
    if providers(auth_secrets()):
        _provider_buttons()
        st.caption("or with an Easel account:")
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
    if auth_secrets() and st.user.to_dict().get("is_logged_in"):
        st.logout()  # also forgets the provider's identity cookie; starts a new session
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
