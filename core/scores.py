"""Per-customer scores as of a date: churn risk, value and the reasons behind them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class CustomerScore(SQLModel, table=True):
    """One row per customer per scoring date; the newest `as_of` is the current view."""

    __tablename__ = "customer_scores"

    # Every read names the date: the indexes the console reads lead with it
    # (core/console_indexes.py); customer_id alone finds one customer's history.
    as_of: date = Field(primary_key=True)
    customer_id: str = Field(primary_key=True, foreign_key="customers.customer_id", index=True)
    model_version_id: int | None = None
    churn_probability: float
    risk_band: str  # low | medium | high
    expected_value: float
    value_at_risk: float
    reasons: str | None = Field(default=None, sa_column=Column(Text))  # JSON list of plain words
    scored_at: datetime
