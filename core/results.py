"""Results: treated against holdout per campaign and week, from the offers' recorded outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import measurement
from core.campaigns import Offer, Status


@dataclass(frozen=True)
class Results:
    table: pd.DataFrame  # measurement.RESULT_COLUMNS, one row per campaign and week
    measured_offers: int

    @property
    def has_outcomes(self) -> bool:
        return self.measured_offers > 0

    @property
    def enough(self) -> pd.DataFrame:
        return self.table[self.table["enough_data"].astype(bool)]


# Every status but suppressed. The measured offers are found through ix_offers_measured_week
# (core/console_indexes.py); their status is checked on the rows.
NOT_SUPPRESSED = [s.value for s in Status if s != Status.SUPPRESSED]


def _measured(o):
    # Suppressed offers left both arms alike; only offers with a recorded outcome count.
    return [o.c.status.in_(NOT_SUPPRESSED), o.c.converted.is_not(None)]


def recent_weeks(session: Session, *, weeks: int) -> list[str]:
    """The newest weeks that have outcomes, newest first."""
    o = Offer.__table__
    statement = (
        select(o.c.week).where(*_measured(o)).distinct().order_by(o.c.week.desc()).limit(weeks)
    )
    return list(session.connection().execute(statement).scalars())


def outcomes(
    session: Session, *, weeks: list[str], campaign_type: str | None = None
) -> pd.DataFrame:
    """One row per measured offer in those weeks: measurement.OUTCOME_COLUMNS."""
    o = Offer.__table__
    conditions = [*_measured(o), o.c.week.in_(weeks)]
    if campaign_type:
        conditions.append(o.c.campaign_type == campaign_type)
    statement = select(
        o.c.campaign_type.label("campaign"),
        o.c.week,
        o.c.holdout,
        o.c.converted,
        o.c.outcome_revenue.label("revenue"),
    ).where(*conditions)
    frame = pd.read_sql(statement, session.connection())
    frame.insert(2, "segment", measurement.ALL_SEGMENTS)
    return frame[measurement.OUTCOME_COLUMNS]


def campaign_results(
    session: Session,
    *,
    weeks: int = 12,
    campaign_type: str | None = None,
    min_per_group: int = measurement.MIN_PER_GROUP,
) -> Results:
    """Conversion, revenue, uplift and incremental revenue with intervals, per campaign and week.

    Rows below `min_per_group` in either arm carry no figures and say "not enough data yet".
    """
    chosen = recent_weeks(session, weeks=weeks)
    if not chosen:
        return Results(pd.DataFrame(columns=measurement.RESULT_COLUMNS), 0)
    frame = outcomes(session, weeks=chosen, campaign_type=campaign_type)
    table = measurement.measure(frame, min_per_group=min_per_group)
    table = table.sort_values(["week", "campaign"], ascending=[False, True]).reset_index(drop=True)
    return Results(table, len(frame))


def campaign_types(session: Session) -> list[str]:
    """Campaign types that have any measured offer."""
    o = Offer.__table__
    statement = (
        select(o.c.campaign_type).where(*_measured(o)).distinct().order_by(o.c.campaign_type)
    )
    return list(session.connection().execute(statement).scalars())
