"""Inventory and suppliers: stock cover, inbound arrivals and offer pauses."""

import streamlit as st

from core.roles import Permission
from ui import auth

auth.require(Permission.PAUSE_OFFERS)
st.title("Inventory and suppliers")
st.info("This page arrives with the campaign work: stock cover, inbound arrivals and offer pauses.")
