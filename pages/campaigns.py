"""Campaign approval: the week's proposed campaigns to approve, edit or reject."""

import streamlit as st

from core.roles import Permission
from ui import auth

auth.require(Permission.APPROVE_CAMPAIGNS)
st.title("Campaign approval")
st.info(
    "This page arrives with the campaign work: the week's proposed campaigns to approve, edit or reject."
)
