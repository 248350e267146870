"""Erasing a customer on request: personal fields go, the audit trail keeps a pseudonym only."""

from __future__ import annotations

import json
import stat
from datetime import date

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import audit, privacy, users
from core.audit import AuditEvent
from core.campaigns import Offer
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.roles import SYSTEM
from core.sends import Send
from core.tables import Customer, SurveyResponse
from tests import console_factories as make
from tests import pages

KEY = b"k" * 32
EMAIL = "ann.smith@example.org"


@pytest.fixture
def ann(engine, now):
    """Customer c1 with a name, address, survey comment, an offer and its send; c2 untouched."""
    make.add(
        engine,
        [
            Customer(customer_id="c1", name="Ann Smith", email=EMAIL, consent_sms=True),
            Customer(customer_id="c2", name="Bob Jones", email="bob@example.org"),
        ],
    )
    make.add(
        engine,
        [
            SurveyResponse(
                response_id=f"r{c}",
                customer_id=c,
                responded_date=date(2026, 5, 1),
                score=3,
                comment=f"I am {c}, call me on 0161 000",
            )
            for c in ("c1", "c2")
        ],
    )
    make.campaign(engine, 1)
    make.offers(
        engine, 1, [("c1", False, None, None, None, None), ("c2", False, None, None, None, None)]
    )
    with Session(engine) as session:
        offer_ids = {o.customer_id: o.id for o in session.exec(select(Offer))}
    make.add(
        engine,
        [
            Send(
                key=f"offer:{offer_ids['c1']}",
                channel="smtp",
                recipient=EMAIL,
                status="sent",
                claimed_at=now,
            ),
            Send(key="offer:999", channel="smtp", recipient=EMAIL, status="sent", claimed_at=now),
            Send(
                key=f"offer:{offer_ids['c2']}",
                channel="smtp",
                recipient="bob@example.org",
                status="sent",
                claimed_at=now,
            ),
        ],
    )
    return engine


def _erase(session, actor, now, customer_id="c1", reason="request REQ-17"):
    return privacy.erase_customer(
        session, actor=actor, customer_id=customer_id, reason=reason, key=KEY, now=now
    )


def test_erasure_removes_personal_fields_and_keeps_the_rest(ann, session, admin, now):
    done = _erase(session, admin, now)
    session.commit()
    c1, c2 = session.get(Customer, "c1"), session.get(Customer, "c2")
    assert (c1.name, c1.email) == (None, None)
    assert not (c1.consent_email or c1.consent_sms or c1.consent_post)
    assert (c2.name, c2.email, c2.consent_email) == ("Bob Jones", "bob@example.org", True)
    comments = dict(session.exec(select(SurveyResponse.customer_id, SurveyResponse.comment)).all())
    assert comments == {"c1": None, "c2": "I am c2, call me on 0161 000"}
    recipients = sorted(session.exec(select(Send.recipient)).all())
    assert recipients == [privacy.ERASED, privacy.ERASED, "bob@example.org"]
    assert (done.survey_comments, done.sends) == (1, 2)
    # the orders, offers and scores of the customer stay (no personal field in them)
    assert session.exec(select(Offer).where(Offer.customer_id == "c1")).one()


def test_the_audit_event_names_a_pseudonym_not_the_customer(ann, session, admin, now):
    done = _erase(session, admin, now)
    session.commit()
    [event] = audit.search(session, action="customer.erase")
    assert event.entity_id == done.pseudonym == privacy.pseudonym(KEY, "c1")
    assert event.entity_id != privacy.pseudonym(b"another key", "c1")
    assert event.actor == "ada" and event.reason == "request REQ-17"
    written = " ".join(str(v) for v in (event.entity_id, event.before, event.after, event.reason))
    for personal in ("c1", "Ann", "Smith", EMAIL):
        assert personal not in written
    assert json.loads(event.after)["erased"] == ["email", "name"]
    assert audit.verify(session).ok


def test_only_a_role_with_the_permission_may_erase(ann, session, planner, manager, now):
    for actor in (planner, manager, SYSTEM):
        with pytest.raises(PermissionDenied):
            _erase(session, actor, now)
    session.rollback()
    assert session.get(Customer, "c1").name == "Ann Smith"
    assert audit.search(session) == []


@pytest.mark.parametrize("reason", ["", "  ", "Ann Smith asked", f"mail from {EMAIL}", "c1 asked"])
def test_a_missing_or_identifying_reason_is_refused(ann, session, admin, now, reason):
    with pytest.raises(InvalidInput):
        _erase(session, admin, now, reason=reason)


def test_an_unknown_customer_is_named(ann, session, admin, now):
    with pytest.raises(NotFound, match="nope"):
        _erase(session, admin, now, customer_id="nope")


def test_a_failed_audit_write_erases_nothing(ann, engine, admin, now, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(audit, "record", broken)
    with Session(engine) as session, pytest.raises(RuntimeError):
        _erase(session, admin, now)
        session.commit()
    with Session(engine) as session:
        assert session.get(Customer, "c1").email == EMAIL
        assert session.exec(
            select(SurveyResponse.comment).where(SurveyResponse.customer_id == "c1")
        ).one()
        assert EMAIL in session.exec(select(Send.recipient)).all()


def test_the_key_file_is_created_once_and_readable_only_by_its_owner(tmp_path):
    first = privacy.load_key("", tmp_path)
    assert privacy.load_key("", tmp_path) == first and len(first) == 64
    mode = stat.S_IMODE((tmp_path / privacy.KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert privacy.load_key("configured", tmp_path) == b"configured"


def test_cli_erases_as_an_admin(ann, engine, now, tmp_path, monkeypatch):
    monkeypatch.setattr(context, "engine", lambda: engine)
    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EASEL_PSEUDONYM_KEY", "k" * 32)
    context.settings.cache_clear()
    with Session(engine) as session:
        users.add_user(
            session, actor=SYSTEM, username="ada", role="admin", password="x" * 10, now=now
        )
        users.add_user(
            session, actor=SYSTEM, username="pat", role="planner", password="x" * 10, now=now
        )
        session.commit()
    runner = CliRunner()
    try:
        refused = runner.invoke(
            app, ["customers", "erase", "c1", "--reason", "REQ-17", "--as", "pat"]
        )
        assert refused.exit_code == 1 and "may not erase customers" in refused.output
        done = runner.invoke(app, ["customers", "erase", "c1", "--reason", "REQ-17", "--as", "ada"])
    finally:
        context.settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert privacy.pseudonym(KEY, "c1") in done.output
    with Session(engine) as session:
        assert session.get(Customer, "c1").email is None
        assert (
            session.exec(
                select(AuditEvent.actor).where(AuditEvent.action == "customer.erase")
            ).one()
            == "ada"
        )


def test_an_erased_customers_story_still_reads(ann, session, admin, now):
    from core import customers

    _erase(session, admin, now)
    session.commit()
    story = customers.story(session, customer_id="c1")
    assert story.customer.name is None and story.customer.email is None
    assert story.surveys["comment"].isna().all()


def _page(engine, monkeypatch, tmp_path, actor):
    pages.use_database(monkeypatch, engine)
    monkeypatch.setenv("EASEL_PSEUDONYM_KEY", KEY.decode())
    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path))
    test = pages.page("erasure", actor)
    test.run()
    return test


def _submit(test, customer_id, reason, sure=True):
    test.text_input[0].input(customer_id)
    test.text_input[1].input(reason)
    if sure:
        test.checkbox[0].check()
    test.button[0].click()
    test.run()
    return test


def test_an_admin_erases_a_customer_in_the_console(ann, engine, monkeypatch, tmp_path, admin):
    test = _page(engine, monkeypatch, tmp_path, admin)
    assert not test.exception
    _submit(test, "c1", "request REQ-17", sure=False)
    assert "Tick the box" in test.error[0].value
    with Session(engine) as session:
        assert session.get(Customer, "c1").email == EMAIL
    _submit(test, "c1", "request REQ-17")
    assert privacy.pseudonym(KEY, "c1") in test.success[0].value
    with Session(engine) as session:
        assert session.get(Customer, "c1").email is None
        event = audit.search(session, action="customer.erase")[0]
    assert event.actor == "ada" and event.entity_id == privacy.pseudonym(KEY, "c1")


def test_the_console_says_why_an_erasure_is_refused(ann, engine, monkeypatch, tmp_path, admin):
    test = _submit(_page(engine, monkeypatch, tmp_path, admin), "c1", "Ann Smith asked")
    assert "reason would keep" in test.error[0].value
    with Session(engine) as session:
        assert session.get(Customer, "c1").name == "Ann Smith"
