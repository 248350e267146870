"""Results: treated-versus-holdout results per campaign."""

import streamlit as st

from core.roles import Permission
from ui import auth

auth.require(Permission.READ_AUDIT)
st.title("Results")
st.info("This page arrives with the campaign work: treated-versus-holdout results per campaign.")
