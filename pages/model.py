"""Model health: the active churn model, its figures next to the baselines, calibration, drivers."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core import model_store
from core.errors import EaselError
from core.roles import Permission
from ui import auth, db

actor = auth.require(Permission.READ_AUDIT)
st.title("Churn model")

with db.session() as session:
    active = model_store.active_version(session)
    versions = model_store.list_versions(session)

if active is None:
    st.info("No model yet. The first scoring run (`easel score`) trains one.")
    st.stop()

metrics = active.metrics_dict()
window = active.window_dict()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Active version", active.id)
c2.metric("Trained as of", f"{active.as_of:%d %b %Y}")
c3.metric("Horizon", f"{active.horizon_days} days")
c4.metric("Calibration", metrics.get("calibration_check", {}).get("method", "none"))
if active.beats_baselines:
    st.success(
        "This version beats every baseline on validation (higher AUC and lower Brier score)."
    )
else:
    st.warning("This version does NOT beat every baseline on validation: compare the table below.")
st.caption(
    f"Trained on origins {', '.join(window.get('train_origins', []))}; validated on "
    f"{window.get('validation_origin')}; tested out of time on {window.get('test_origin')}."
)

st.subheader("Model and baselines")
table = pd.DataFrame(model_store.metrics_table(active))
split = st.radio("Split", ["test", "validation"], horizontal=True)
st.dataframe(
    table[table["split"] == split].drop(columns="split"),
    hide_index=True,
    column_config={
        "model": "Model",
        "auc": st.column_config.NumberColumn("AUC", format="%.4f"),
        "pr_auc": st.column_config.NumberColumn("PR-AUC", format="%.4f"),
        "brier": st.column_config.NumberColumn("Brier (lower is better)", format="%.4f"),
        "customers": "Customers",
    },
)

left, right = st.columns(2)
with left:
    st.subheader("Calibration")
    calibration = pd.DataFrame(metrics.get(f"{split}_calibration", []))
    if calibration.empty:
        st.info("No calibration table stored for this split.")
    else:
        figure = go.Figure()
        figure.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash"})
        )
        figure.add_trace(
            go.Scatter(
                x=calibration["predicted"],
                y=calibration["observed"],
                mode="lines+markers",
                name="model",
                text=calibration["count"],
                hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{text} customers",
            )
        )
        figure.update_layout(
            xaxis_title="Predicted churn", yaxis_title="Observed churn", height=380
        )
        st.plotly_chart(figure, width="stretch")
with right:
    st.subheader("What drives the scores")
    summary = metrics.get("contribution_summary", {})
    if summary:
        drivers = pd.DataFrame(
            {"reason": list(summary), "mean |contribution|": list(summary.values())}
        )
        chart = px.bar(
            drivers.sort_values("mean |contribution|"),
            x="mean |contribution|",
            y="reason",
            orientation="h",
            height=380,
        )
        st.plotly_chart(chart, width="stretch")
        st.caption("Mean absolute per-customer contribution (log-odds) on the validation snapshot.")

st.subheader("Versions")
st.dataframe(
    pd.DataFrame(
        [
            {
                "id": v.id,
                "active": v.active,
                "as of": v.as_of,
                "horizon": v.horizon_days,
                "beats baselines": v.beats_baselines,
                "test AUC": v.metrics_dict().get("test", {}).get("model", {}).get("auc"),
                "created": v.created_at,
                "by": v.created_by,
            }
            for v in versions
        ]
    ),
    hide_index=True,
)
if actor.can(Permission.MANAGE_MODEL) and len(versions) > 1:
    with st.form("activate"):
        chosen = st.selectbox("Make active", [v.id for v in versions if not v.active])
        reason = st.text_input("Reason")
        if st.form_submit_button("Activate"):
            try:
                with db.session() as session:
                    model_store.activate_version(
                        session, actor=actor, version_id=chosen, now=db.now(), reason=reason or None
                    )
                st.success(f"Model {chosen} is now active.")
                st.rerun()
            except EaselError as error:
                st.error(str(error))
