"""Easel console: the login gate and the role's navigation."""

import streamlit as st

from ui import auth
from ui.navigation import pages_for

st.set_page_config(page_title="Easel", page_icon=":material/palette:", layout="wide")

actor = auth.current_actor()
if actor is None:
    st.navigation([st.Page(auth.login_form, title="Sign in", icon=":material/login:")]).run()
    st.stop()

sections: dict[str, list] = {}
for spec in pages_for(actor):
    page = st.Page(
        spec.path, title=spec.title, icon=spec.icon, default=spec.path == "pages/overview.py"
    )
    sections.setdefault(spec.section, []).append(page)

with st.sidebar:
    st.caption(f"Signed in as **{actor.username}** ({actor.role})")
    if st.button("Sign out", icon=":material/logout:"):
        auth.logout()

st.navigation(sections).run()
