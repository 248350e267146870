"""Demo responses: depend on customer, offer and stock; written once, through the normal tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import response_simulation
from core.roles import SYSTEM
from core.tables import Order, SurveyResponse
from tests import loop_factories as f


def _offers(n, **values):
    frame = pd.DataFrame(
        {
            "offer_id": np.arange(n),
            "customer_id": [f"c{i}" for i in range(n)],
            "holdout": False,
            "sku": "PAINT-1",
            "discount_pct": 10.0,
            "credit_amount": 0.0,
            "on_hand": 50,
        }
    )
    return frame.assign(**values)


def test_an_out_of_stock_offer_does_worse_than_no_offer_and_a_good_one_better():
    traits = response_simulation.hashed_traits(pd.Series([f"c{i}" for i in range(4000)]))
    chance = {
        name: response_simulation.responses(offers, traits, seed=1)["chance"].mean()
        for name, offers in {
            "in_stock": _offers(4000),
            "holdout": _offers(4000, holdout=True),
            "out_of_stock": _offers(4000, on_hand=0),
        }.items()
    }
    assert chance["out_of_stock"] < chance["holdout"] < chance["in_stock"]


def test_sensitive_customers_respond_more_to_a_discount():
    traits = pd.DataFrame(
        {"churn_propensity": [0.0, 0.0], "offer_sensitivity": [0.1, 2.0]},
        index=pd.Index(["c0", "c1"], name="customer_id"),
    )
    chance = response_simulation.responses(_offers(2), traits, seed=1)["chance"]
    assert chance[1] > chance[0]


def _simulate(engine, as_of):
    with Session(engine) as session:
        written = response_simulation.simulate(
            session=session,
            actor=SYSTEM,
            as_of=as_of,
            now=datetime(2026, 6, 15, tzinfo=UTC),
            traits=None,
            seed=3,
        )
        session.commit()
    with Session(engine) as session:
        orders = session.exec(select(func.count()).select_from(Order)).one()[0]
        latest = session.exec(select(func.max(Order.ordered_date))).one()[0]
        surveys = session.exec(select(func.count()).select_from(SurveyResponse)).one()[0]
    return written, orders, latest, surveys


def test_responses_are_written_before_as_of_and_a_rerun_adds_nothing(engine):
    f.catalogue(engine, stock={"YARN-1": 0})
    ids = [f"c{i}" for i in range(300)]
    f.customers(engine, *ids)
    f.campaign(engine, 1, send_date=date(2026, 6, 8))
    sent = datetime(2026, 6, 8, 9, tzinfo=UTC)
    for i, customer in enumerate(ids):
        holdout = i % 3 == 0
        f.offer(
            engine,
            1,
            customer,
            sku="YARN-1" if i % 3 == 1 else "PAINT-1",
            status="approved" if holdout else "sent",
            holdout=holdout,
            sent_at=None if holdout else sent,
            send_date=date(2026, 6, 8),
        )
    first = _simulate(engine, date(2026, 6, 15))
    assert first[0] > 0 and first[1] == first[0]
    assert first[2] < date(2026, 6, 15)
    assert first[3] > 0  # the customers offered the missing yarn said so
    assert _simulate(engine, date(2026, 6, 15))[1:] == first[1:]
