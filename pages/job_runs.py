"""Jobs: the background runs, their status, duration and errors; run one now (admins)."""

import streamlit as st

from core import jobruns
from core.errors import EaselError
from core.roles import Permission
from jobs import registry
from ui import auth, db

actor = auth.require(Permission.RUN_JOBS)
st.title("Jobs")

with st.container(border=True):
    st.subheader("Run now")
    names = [job.name for job in registry.JOBS]
    name = st.selectbox("Job", names, format_func=lambda n: f"{n} — {registry.get(n).description}")
    st.caption(
        f"Runs every {registry.get(name).cadence.removeprefix('every ')} on its own; "
        "a run started here stands for this second and changes nothing if it fails."
        if registry.get(name).cadence.startswith("every")
        else f"Scheduled as `{registry.get(name).cadence}` (UTC)."
    )
    if st.button("Run now", type="primary", icon=":material/play_arrow:"):
        bar = st.progress(0.0, text=f"Starting {name}…")

        def show(fraction: float, message: str | None) -> None:
            bar.progress(fraction, text=message or f"{name}: {fraction:.0%}")

        try:
            with st.spinner(f"Running {name}…"):
                outcome = registry.run(
                    db.get_engine(),
                    name,
                    slot=db.now().replace(microsecond=0),
                    actor=actor,
                    clock=db.now,
                    on_progress=show,
                )
        except EaselError as error:
            st.error(str(error))
        else:
            if outcome.status == "succeeded":
                st.success(outcome.describe())
                st.toast(outcome.describe())
            elif outcome.status == "failed":
                st.error(outcome.describe())
            else:
                st.warning(outcome.describe())

st.subheader("Recent runs")
if st.button("Refresh", icon=":material/refresh:"):
    st.rerun()
with db.session() as session:
    runs = jobruns.latest_runs(session, limit=50)
if not runs:
    st.info("No job has run yet. The scheduler process (`easel scheduler`) records every run here.")
else:
    st.dataframe(
        [
            {
                "Job": r.job,
                "Slot": r.scheduled_for,
                "Status": r.status,
                "Started": r.started_at,
                "Finished": r.finished_at,
                "Seconds": r.duration_seconds,
                "Rows": r.rows,
                "Progress": r.progress,
                "Note": r.message,
                "Error": (r.error or "").split("\n", 1)[0] or None,
                "By": r.triggered_by,
            }
            for r in runs
        ],
        hide_index=True,
        column_config={
            "Progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0),
            "Seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
        },
    )
    failed = [r for r in runs if r.status == "failed"][:5]
    for run in failed:
        with st.expander(f"Error of {run.job} for {run.scheduled_for:%Y-%m-%d %H:%M}"):
            st.code(run.error or "", language=None)
