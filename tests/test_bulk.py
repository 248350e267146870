from datetime import date

import pandas as pd
from sqlmodel import Session

from core import bulk
from core.tables import Customer


def test_insert_fills_missing_columns_with_their_defaults(engine):
    with engine.begin() as conn:
        bulk.write_frame(
            conn, Customer.__table__, pd.DataFrame([{"customer_id": "C1"}]), update=False
        )
    with Session(engine) as session:
        customer = session.get(Customer, "C1")
    assert customer.consent_email is True and customer.consent_sms is False


def test_upsert_keeps_stored_values_of_columns_left_out(engine):
    with engine.begin() as conn:
        bulk.write_frame(
            conn,
            Customer.__table__,
            pd.DataFrame(
                [{"customer_id": "C1", "consent_email": False, "signup_date": date(2025, 1, 1)}]
            ),
            update=False,
        )
        bulk.write_frame(
            conn, Customer.__table__, pd.DataFrame([{"customer_id": "C1", "name": "Ada"}])
        )
    with Session(engine) as session:
        customer = session.get(Customer, "C1")
    assert customer.name == "Ada" and customer.consent_email is False
    assert customer.signup_date == date(2025, 1, 1)
