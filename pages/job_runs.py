"""Jobs: the background runs, their status, duration and errors; run one now (admins); sends
whose outcome is unknown, to resolve."""

import streamlit as st

from core import jobruns, sends
from core.errors import EaselError
from core.roles import Permission
from jobs import registry
from ui import auth, db, feedback

actor = auth.require(Permission.RUN_JOBS)
st.title("Jobs")
feedback.show_pending()

with db.session() as session:
    unknown = sends.unresolved(session, now=db.now())
if not unknown.empty:
    st.warning(
        f"{len(unknown)} send(s) with an unknown outcome: the dispatch stopped between handing "
        "the message over and hearing back, so it may or may not have reached the customer. "
        "These offers are not sent again until someone decides. Check the channel's own log "
        "(mail server, webhook receiver), then resolve them below.",
        icon=":material/help:",
    )
    st.dataframe(
        unknown,
        hide_index=True,
        column_config={
            "key": "Key",
            "channel": "Channel",
            "recipient": "Recipient",
            "status": "Ledger status",
            "attempts": "Attempts",
            "claimed_at": "Handed over",
            "detail": "Channel said",
            "offer_id": "Offer",
            "customer_id": "Customer",
            "campaign_type": "Campaign",
            "week": "Week",
            "offer_status": "Offer status",
        },
    )
    if actor.can(Permission.RESOLVE_SENDS):
        outcomes = {
            sends.DELIVERED: "Delivered: mark the offer sent",
            sends.NOT_DELIVERED: "Not delivered: send it with the next dispatch",
        }
        with st.form("resolve_sends"):
            keys = st.multiselect("Sends", list(unknown["key"]), default=list(unknown["key"]))
            outcome = st.radio("Outcome", list(outcomes), format_func=outcomes.get)
            reason = st.text_input("Reason", placeholder="e.g. found in the mail server's log")
            resolved = st.form_submit_button("Resolve", key="resolve_sends")
        if resolved:
            feedback.act(
                lambda session: sends.resolve(
                    session=session,
                    actor=actor,
                    keys=keys,
                    outcome=outcome,
                    reason=reason,
                    now=db.now(),
                ),
                done=f"Resolved {len(keys)} send(s): {outcomes[outcome].split(':')[0].lower()}.",
            )

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
