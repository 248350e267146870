"""Dispatch: due offers are re-checked at send time and sent once; holdout customers never."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from core import dispatch, pauses
from core.campaigns import Campaign, Offer
from core.channels import SENT, Result
from core.jobruns import JobRun
from core.roles import SYSTEM
from core.tables import StockLevel
from jobs import registry
from tests import loop_factories as f


class FakeChannel:
    name = "fake"

    def __init__(self):
        self.sent = []

    def send(self, messages):
        self.sent.extend(m.key for m in messages)
        return [Result(m.key, SENT, "ok") for m in messages]


def _run(engine, now, channel, **kwargs):
    kwargs.setdefault("max_age", timedelta(days=7))
    kwargs.setdefault("material_change", 0.5)
    with Session(engine, expire_on_commit=False) as session:
        summary = dispatch.dispatch(
            session=session,
            engine=engine,
            channel=channel,
            actor=SYSTEM,
            now=now,
            clock=lambda: now,
            **kwargs,
        )
        session.commit()
    return summary


def _offers(engine):
    with Session(engine) as session:
        return {o.customer_id: o for o in session.exec(select(Offer))}


@pytest.fixture
def world(engine):
    f.catalogue(engine)
    f.customers(engine, "c1", "c2", "c3")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1")
    f.offer(engine, 1, "c2", holdout=True)
    return engine


def test_a_due_offer_is_sent_once_and_a_rerun_sends_nothing(world, now):
    channel = FakeChannel()
    assert _run(world, now, channel).sent == 1
    assert _run(world, now + timedelta(minutes=15), channel).sent == 0
    offer = _offers(world)["c1"]
    assert channel.sent == [f"offer:{offer.id}"]
    assert (offer.status, offer.idempotency_key) == ("sent", f"offer:{offer.id}")


def test_holdout_customers_are_never_sent_anything(world, now):
    channel = FakeChannel()
    _run(world, now, channel)
    assert _offers(world)["c2"].status == "approved"
    assert f"offer:{_offers(world)['c2'].id}" not in channel.sent


def test_offers_before_their_send_date_wait(engine, now):
    f.catalogue(engine)
    f.customers(engine, "c1")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1", send_date=date(2026, 6, 20))
    assert _run(engine, now, FakeChannel()).sent == 0


def test_unapproved_campaigns_are_not_sent(engine, now):
    f.catalogue(engine)
    f.customers(engine, "c1")
    f.campaign(engine, 1, status="proposed")
    f.offer(engine, 1, "c1", status="proposed")
    assert _run(engine, now, FakeChannel()).sent == 0


def test_an_old_approval_expires_instead_of_sending(world, now):
    channel = FakeChannel()
    summary = _run(world, now, channel, max_age=timedelta(hours=24))
    assert (summary.sent, summary.expired) == (0, 1)
    assert _offers(world)["c1"].status == "expired"
    assert "older than 24 hours" in _offers(world)["c1"].reason


def test_an_approval_before_a_material_stock_fall_expires(world, now):
    with world.begin() as conn:
        conn.execute(
            update(Campaign).values(stock_impact=json.dumps({"PAINT-1": {"spare_units": 90}}))
        )
        conn.execute(
            update(StockLevel)
            .where(StockLevel.sku == "PAINT-1")
            .values(on_hand=30, updated_at=now - timedelta(hours=1))
        )
    summary = _run(world, now, FakeChannel())
    assert summary.expired == 1
    assert "fell to 30" in _offers(world)["c1"].reason


def test_a_paused_sku_holds_the_offer_until_the_pause_is_lifted(world, now, support):
    with Session(world) as session:
        row = pauses.pause(
            session=session,
            actor=support,
            scope="supplier",
            target="S1",
            reason="late shipment",
            now=now - timedelta(hours=1),
        )
        session.commit()
        pause_id = row.id
    channel = FakeChannel()
    assert _run(world, now, channel).held == 1
    assert _offers(world)["c1"].status == "approved" and channel.sent == []
    with Session(world) as session:
        pauses.lift(session=session, actor=support, pause_id=pause_id, reason="arrived", now=now)
        session.commit()
    assert _run(world, now + timedelta(minutes=15), channel).sent == 1


def test_no_consent_or_no_stock_suppresses_with_the_reason(engine, now):
    f.catalogue(engine, stock={"YARN-1": 0})
    f.customers(engine, "c1", consent_email=False)
    f.customers(engine, "c2")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1")
    f.offer(engine, 1, "c2", sku="YARN-1")
    channel = FakeChannel()
    assert _run(engine, now, channel).suppressed == 2
    offers = _offers(engine)
    assert offers["c1"].reason == "no consent for email"
    assert "YARN-1 is out of stock" in offers["c2"].reason
    assert channel.sent == []


def test_the_contact_cap_allows_one_offer_per_customer_per_week(engine, now):
    f.catalogue(engine)
    f.customers(engine, "c1")
    f.campaign(engine, 1)
    f.campaign(engine, 2, campaign_type="loyalty")
    f.offer(engine, 1, "c1")
    f.offer(engine, 2, "c1", campaign_type="loyalty")
    summary = _run(engine, now, FakeChannel())
    assert (summary.sent, summary.suppressed) == (1, 1)


def test_the_contact_cap_counts_calendar_weeks_as_the_proposals_do(engine, now):
    # Last Monday's offer went out exactly a week ago: it does not block this week's.
    f.catalogue(engine)
    f.customers(engine, "c1", "c2")
    f.campaign(engine, 1, week="2026-W24", send_date=date(2026, 6, 8))
    f.campaign(engine, 2)
    f.campaign(engine, 3, campaign_type="loyalty")
    last_week = now - timedelta(days=7)
    f.offer(engine, 1, "c1", week="2026-W24", status="sent", sent_at=last_week)
    f.offer(engine, 1, "c2", week="2026-W24", status="sent", sent_at=now - timedelta(hours=1))
    f.offer(engine, 2, "c1")
    f.offer(engine, 3, "c2", campaign_type="loyalty")
    channel = FakeChannel()
    summary = _run(engine, now, channel)
    assert (summary.sent, summary.suppressed) == (1, 1)
    with Session(engine) as session:
        statuses = {
            (o.customer_id, o.campaign_id): (o.status, o.reason)
            for o in session.exec(select(Offer))
        }
    assert statuses[("c1", 2)][0] == "sent"
    assert statuses[("c2", 3)] == (
        "suppressed",
        "contact cap: the customer already has an offer this week",
    )


def test_the_contact_cap_follows_the_campaign_setting(engine, now, admin):
    from core.campaign_config import update_config

    f.catalogue(engine)
    f.customers(engine, "c1")
    f.campaign(engine, 1)
    f.campaign(engine, 2, campaign_type="loyalty")
    f.offer(engine, 1, "c1")
    f.offer(engine, 2, "c1", campaign_type="loyalty")
    with Session(engine) as session:
        update_config(
            session=session,
            actor=admin,
            changes={"contact_cap_per_week": 2},
            reason="test",
            now=now,
        )
        session.commit()
    summary = _run(engine, now, FakeChannel())
    assert (summary.sent, summary.suppressed) == (2, 0)


class CrashAfterSending(Exception):
    pass


def test_a_crash_after_sending_never_sends_twice(world, now, monkeypatch):
    channel = FakeChannel()
    monkeypatch.setattr(dispatch, "channel_from_settings", lambda _s, now: channel)
    original = dispatch.audit.record

    def explode(*args, **kwargs):
        raise CrashAfterSending("disk full")

    monkeypatch.setattr(dispatch.audit, "record", explode)
    first = registry.run(world, "dispatch", slot=now, actor=SYSTEM, clock=lambda: now)
    assert first.status == "failed" and "disk full" in first.error
    assert _offers(world)["c1"].status == "approved"  # the job's writes were rolled back
    monkeypatch.setattr(dispatch.audit, "record", original)
    again = registry.run(world, "dispatch", slot=now, actor=SYSTEM, clock=lambda: now)
    assert again.status == "succeeded"
    assert len(channel.sent) == 1 and _offers(world)["c1"].status == "sent"


def test_the_job_writes_a_csv_list_import_and_reruns_change_nothing(
    world, now, tmp_path, monkeypatch
):
    monkeypatch.setenv("EASEL_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "csv")
    assert registry.run(world, "dispatch", slot=now, actor=SYSTEM, clock=lambda: now).rows == 1
    later = now + timedelta(minutes=15)
    again = registry.run(world, "dispatch", slot=now, actor=SYSTEM, clock=lambda: later)
    assert again.status == "already_done"
    assert registry.run(world, "dispatch", slot=later, actor=SYSTEM, clock=lambda: later).rows == 0
    [export] = (tmp_path / "outbox").glob("*.csv")
    assert "c1@example.org" in export.read_text() and "c2@" not in export.read_text()
    with Session(world) as session:
        assert [r.status for r in session.exec(select(JobRun))] == ["succeeded", "succeeded"]


def test_the_channel_comes_from_the_settings(monkeypatch, tmp_path, now):
    from core.channels import CsvExportChannel, SmtpChannel, WebhookChannel
    from core.config import Settings
    from core.errors import InvalidInput

    monkeypatch.setenv("EASEL_DATA_DIR", str(tmp_path))
    channel = dispatch.channel_from_settings(Settings(), now=now)
    assert isinstance(channel, CsvExportChannel) and channel.folder == tmp_path / "outbox"
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "smtp")
    assert isinstance(dispatch.channel_from_settings(Settings(), now=now), SmtpChannel)
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "webhook")
    with pytest.raises(InvalidInput, match="EASEL_WEBHOOK_SECRET"):
        dispatch.channel_from_settings(Settings(), now=now)
    monkeypatch.setenv("EASEL_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("EASEL_WEBHOOK_SECRET", "s3cret")
    assert isinstance(dispatch.channel_from_settings(Settings(), now=now), WebhookChannel)
