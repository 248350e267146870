"""Jobs: the background runs, their status, duration and errors."""

import streamlit as st

from core import jobruns
from core.roles import Permission
from ui import auth, db

auth.require(Permission.RUN_JOBS)
st.title("Jobs")

with db.session() as session:
    runs = jobruns.latest_runs(session, limit=50)
if not runs:
    st.info("No job has run yet. The scheduler process (`easel scheduler`) records every run here.")
st.dataframe(
    [
        {
            "Job": r.job,
            "Slot": r.scheduled_for,
            "Status": r.status,
            "Started": r.started_at,
            "Finished": r.finished_at,
            "Rows": r.rows,
            "Progress": r.progress,
            "Error": r.error,
        }
        for r in runs
    ],
    hide_index=True,
)
