"""Model: the active churn model and how it compares with simple baselines."""

import streamlit as st

from core.roles import Permission
from ui import auth

auth.require(Permission.READ_AUDIT)
st.title("Model")
st.info("This page arrives with the scoring work.")
