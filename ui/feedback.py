"""Saying what happened: toasts that survive a rerun, confirmation dialogs with a reason, and
the reload message when someone else changed the same thing first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlmodel import Session

from core.errors import EaselError, StaleVersion
from ui import db

TOAST = "_feedback_toast"
STALE = "_feedback_stale"
DIALOG = "_feedback_dialog"
SEEN = "_feedback_seen"

Action = Callable[[Session], object]


def show_pending() -> None:
    """At the top of a page: the toast of the last action, and a reload notice if it was stale."""
    toast = st.session_state.pop(TOAST, None)
    if toast:
        st.toast(toast[0], icon=toast[1])
    stale = st.session_state.get(STALE)
    if stale:
        st.warning(stale, icon=":material/sync_problem:")
        if st.button("Reload", icon=":material/refresh:", type="primary"):
            st.session_state.pop(STALE, None)
            st.session_state.pop(SEEN, None)
            st.rerun()


def seen_version(key: str, current: int) -> int:
    """The version of `key` the person had on screen before this run; remembers `current`."""
    seen = st.session_state.setdefault(SEEN, {})
    before = seen.get(key, current)
    seen[key] = current
    return before


def act(action: Action, *, done: str, icon: str = ":material/check_circle:") -> None:
    """Run one core action in its own transaction, then rerun: success shows `done` as a toast,
    a stale version the reload notice; any other refusal is shown in place (nothing changed)."""
    try:
        with db.session() as session:
            action(session)
    except StaleVersion as error:
        st.session_state[STALE] = f"{error} Someone else acted first: nothing of yours was saved."
    except EaselError as error:
        st.error(str(error))
        return
    else:
        st.session_state[TOAST] = (done, icon)
    close_dialog()
    st.rerun()


def open_dialog(name: str, **data: Any) -> None:
    st.session_state[DIALOG] = {"name": name, **data}


def dialog_data(name: str) -> dict | None:
    """What the open dialog was opened with (e.g. the version on screen), if it is `name`."""
    data = st.session_state.get(DIALOG)
    return data if data and data["name"] == name else None


def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


def confirm(
    name: str,
    *,
    title: str,
    prompt: str,
    button: str,
    action: Callable[[Session, str, dict], object],
    done: str,
    icon: str,
) -> None:
    """A dialog for what cannot be undone: it asks for the reason, then runs
    `action(session, reason, data)` with the data the dialog was opened with."""

    def body(data: dict) -> None:
        st.write(prompt)
        reason = st.text_area("Reason (required)", key=f"{name}-reason")
        left, right = st.columns(2)
        if left.button(button, type="primary", key=f"{name}-confirm", icon=icon):
            act(lambda session: action(session, reason, data), done=done, icon=icon)
        if right.button("Cancel", key=f"{name}-cancel"):
            close_dialog()
            st.rerun()

    # The data goes in as the dialog's argument: a dialog reruns on its own, and names in the
    # page's scope may by then point elsewhere.
    st.dialog(title, on_dismiss=close_dialog)(body)(dialog_data(name))
