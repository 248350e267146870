"""Plotly figures shared by pages."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEAL, SAND, RUST, MOSS = "#3D6B7C", "#C9B79C", "#C0392B", "#6B8E5A"


def stock_impact(impact: pd.DataFrame, *, top: int = 15) -> go.Figure:
    """Units per SKU (on hand, expected pull, inbound) beside cover after the pull vs lead time."""
    frame = impact.head(top)
    skus = frame["sku"].tolist()
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        subplot_titles=("Units", "Days of cover after the campaign vs lead time"),
    )
    for column, name, colour in (
        ("on_hand", "On hand", TEAL),
        ("expected_pull", "Expected pull", RUST),
        ("inbound_units", "Inbound arrivals", MOSS),
    ):
        figure.add_trace(go.Bar(x=skus, y=frame[column], name=name, marker_color=colour), 1, 1)
    short = frame["short_after"].astype(bool)
    figure.add_trace(
        go.Bar(
            x=skus,
            y=frame["cover_days_after"].fillna(0),
            name="Cover after (days)",
            marker_color=[RUST if s else SAND for s in short],
        ),
        1,
        2,
    )
    figure.add_trace(
        go.Scatter(
            x=skus,
            y=frame["lead_time_days"],
            name="Lead time (days)",
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 22, "color": "#2B2B2B"},
        ),
        1,
        2,
    )
    figure.update_layout(barmode="group", height=360, margin={"t": 40, "b": 10}, legend_y=-0.2)
    return figure
