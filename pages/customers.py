"""At-risk customers: the customers at risk, their reasons and proposed offers."""

import streamlit as st

from core.roles import Permission
from ui import auth

auth.require(Permission.VIEW_CUSTOMERS)
st.title("At-risk customers")
st.info(
    "This page arrives with the campaign work: the customers at risk, their reasons and proposed offers."
)
