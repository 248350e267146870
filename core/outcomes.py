"""Outcomes: link orders to the offers that preceded them, for treatment and holdout alike.

An offer is measured once its attribution window has closed: a sent offer from the day it was
sent, a holdout offer from the day it would have been sent (its send date). Orders of the
customer within `window_days` from then (cancelled ones excluded) are its outcome: converted
when there is any, revenue their sum. Treated offers that never went out (held, expired,
suppressed) are not measured; holdout offers are, as long as their campaign was approved.
Survey responses in the same windows are the customers' feedback: their average score per
arm is kept in the audit event of the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlmodel import Session

from core import audit
from core.campaigns import Campaign, Offer, Status
from core.roles import Actor, Permission, require
from core.tables import Order, SurveyResponse

log = logging.getLogger(__name__)

MEASURED_CAMPAIGNS = (Status.APPROVED.value, Status.SENT.value)
UNMEASURED_OFFERS = (Status.SUPPRESSED.value, Status.REJECTED.value, Status.EXPIRED.value)


@dataclass(frozen=True)
class OutcomeSummary:
    measured: int
    converted: int
    treated: int
    holdout: int
    survey_responses: int

    def describe(self) -> str:
        return (
            f"{self.measured} offer(s) measured ({self.treated} treated, {self.holdout} holdout), "
            f"{self.converted} converted, {self.survey_responses} survey response(s)"
        )


def _candidates(session: Session, *, as_of: date, window_days: int) -> pd.DataFrame:
    """Unmeasured offers whose window closed by as_of: offer_id, customer_id, holdout, start."""
    o, c = Offer.__table__, Campaign.__table__
    last_start = as_of - timedelta(days=window_days)
    sent_before = datetime.combine(last_start + timedelta(days=1), time.min, tzinfo=UTC)
    would_be = func.coalesce(o.c.send_date, c.c.send_date)
    statement = (
        select(
            o.c.id.label("offer_id"),
            o.c.customer_id,
            o.c.holdout,
            o.c.sent_at,
            would_be.label("send_date"),
        )
        .select_from(o.join(c, c.c.id == o.c.campaign_id))
        .where(
            o.c.converted.is_(None),
            c.c.status.in_(MEASURED_CAMPAIGNS),
            or_(
                and_(o.c.holdout.is_(False), o.c.sent_at.is_not(None), o.c.sent_at < sent_before),
                and_(
                    o.c.holdout.is_(True),
                    o.c.status.not_in(UNMEASURED_OFFERS),
                    would_be <= last_start,
                ),
            ),
        )
    )
    rows = session.connection().execute(statement).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=list(statement.selected_columns.keys()))
    sent_day = pd.to_datetime(frame["sent_at"].map(lambda t: t.date() if t is not None else None))
    frame["start"] = sent_day.where(
        ~frame["holdout"].astype(bool), pd.to_datetime(frame["send_date"])
    )
    return frame


def _events(session: Session, model, date_column: str, columns, offers: pd.DataFrame, window_days):
    """Rows of `model` for the offers' customers dated inside the span of all their windows."""
    table = model.__table__
    start, end = (
        offers["start"].min().date(),
        offers["start"].max().date() + timedelta(days=window_days),
    )
    o = Offer.__table__
    # Every unmeasured offer's customer, as a subquery: no list of ids travels as parameters.
    customers = select(o.c.customer_id).where(o.c.converted.is_(None))
    conditions = [
        table.c[date_column] >= start,
        table.c[date_column] < end,
        table.c.customer_id.in_(customers),
    ]
    if model is Order:
        conditions.append(table.c.status != "cancelled")
    statement = select(table.c.customer_id, table.c[date_column].label("day"), *columns).where(
        *conditions
    )
    result = session.connection().execute(statement)
    frame = pd.DataFrame(result.mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=["customer_id", "day", *[c.name for c in columns]])
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def _within(offers: pd.DataFrame, events: pd.DataFrame, window_days: int) -> pd.DataFrame:
    joined = offers[["offer_id", "customer_id", "start"]].merge(events, on="customer_id")
    inside = (joined["day"] >= joined["start"]) & (
        joined["day"] < joined["start"] + pd.Timedelta(days=window_days)
    )
    return joined.loc[inside]


def attribute(*, session: Session, actor: Actor, now: datetime, window_days: int) -> OutcomeSummary:
    """Record converted and revenue on every offer whose attribution window has closed."""
    require(actor, Permission.RUN_JOBS)
    offers = _candidates(session, as_of=now.date(), window_days=window_days)
    if offers.empty:
        return OutcomeSummary(0, 0, 0, 0, 0)
    orders = _events(
        session, Order, "ordered_date", [Order.__table__.c.amount], offers, window_days
    )
    surveys = _events(
        session,
        SurveyResponse,
        "responded_date",
        [SurveyResponse.__table__.c.score],
        offers,
        window_days,
    )
    bought = _within(offers, orders, window_days).groupby("offer_id")["amount"].agg(["size", "sum"])
    measured = offers.set_index("offer_id")
    measured["converted"] = bought["size"].reindex(measured.index).fillna(0) > 0
    measured["revenue"] = bought["sum"].reindex(measured.index).fillna(0.0).astype(float).round(2)
    feedback = _within(offers, surveys, window_days)
    rows = [
        {"b_id": int(i), "b_converted": bool(r.converted), "b_revenue": float(r.revenue)}
        for i, r in measured.iterrows()
    ]
    o = Offer.__table__
    session.connection().execute(
        update(o)
        .where(o.c.id == bindparam("b_id"))
        .values(
            converted=bindparam("b_converted"),
            outcome_revenue=bindparam("b_revenue"),
            outcome_at=now,
        ),
        rows,
    )
    holdout = measured["holdout"].astype(bool)
    arm = feedback["offer_id"].map(measured["holdout"].astype(bool))
    summary = OutcomeSummary(
        measured=len(measured),
        converted=int(measured["converted"].sum()),
        treated=int((~holdout).sum()),
        holdout=int(holdout.sum()),
        survey_responses=len(feedback),
    )
    audit.record(
        session,
        actor=actor,
        action="offers.outcomes",
        entity_type="outcomes",
        entity_id=now.isoformat(timespec="seconds"),
        after={
            "window_days": window_days,
            "measured": summary.measured,
            "converted": summary.converted,
            "treated": summary.treated,
            "holdout": summary.holdout,
            "survey_responses": summary.survey_responses,
            "survey_mean_treated": _mean(feedback.loc[arm == False, "score"]),  # noqa: E712
            "survey_mean_holdout": _mean(feedback.loc[arm == True, "score"]),  # noqa: E712
        },
        now=now,
    )
    log.info("Outcomes: %s.", summary.describe())
    return summary


def _mean(values: pd.Series) -> float | None:
    return None if values.empty else round(float(values.astype(float).mean()), 2)
