"""Sends of unknown outcome: listed, and settled by an admin as delivered or not delivered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core import dispatch, sends
from core.audit import AuditEvent
from core.campaigns import Offer
from core.channels import UNKNOWN, Result
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.roles import SYSTEM
from core.sends import Send
from tests import loop_factories as f
from tests import pages
from tests.test_dispatch import FakeChannel


class LostAnswer:
    """The connection broke after the message was handed over: nobody knows if it arrived."""

    name = "smtp"

    def send(self, messages):
        return [Result(m.key, UNKNOWN, "Connection lost: reset by peer") for m in messages]


class Crash:
    """The process died between the claim and the answer."""

    name = "webhook"

    def send(self, messages):
        raise KeyboardInterrupt


@pytest.fixture
def world(engine):
    f.catalogue(engine)
    f.customers(engine, "c1", "c2")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1")
    f.offer(engine, 1, "c2")
    return engine


def _dispatch(engine, at, channel):
    with Session(engine) as session:
        summary = dispatch.dispatch(
            session=session,
            engine=engine,
            channel=channel,
            actor=SYSTEM,
            now=at,
            clock=lambda: at,
            max_age=timedelta(days=7),
            material_change=0.5,
        )
        session.commit()
    return summary


def _offers(engine) -> dict[str, Offer]:
    with Session(engine) as session:
        return {o.customer_id: o for o in session.exec(select(Offer))}


def _unresolved(engine, now):
    with Session(engine) as session:
        return sends.unresolved(session, now=now)


def _resolve(engine, actor, keys, outcome, now, reason="checked the mail server log"):
    with Session(engine) as session:
        count = sends.resolve(
            session=session, actor=actor, keys=keys, outcome=outcome, reason=reason, now=now
        )
        session.commit()
    return count


def test_an_unknown_send_blocks_a_resend_and_is_listed_with_its_offer(world, now):
    assert _dispatch(world, now, LostAnswer()).uncertain == 2
    channel = FakeChannel()
    again = _dispatch(world, now + timedelta(minutes=15), channel)
    assert again.awaiting == 2 and channel.sent == []
    listed = _unresolved(world, now)
    offers = _offers(world)
    assert list(listed["customer_id"]) == ["c1", "c2"]
    row = listed.iloc[0]
    assert row["key"] == f"offer:{offers['c1'].id}" and row["status"] == "unknown"
    assert (row["campaign_type"], row["offer_status"]) == ("win_back", "approved")
    assert "Connection lost" in row["detail"]


def test_a_claim_left_sending_by_a_crash_is_listed_once_it_is_stale(world, now):
    with pytest.raises(KeyboardInterrupt):
        _dispatch(world, now, Crash())
    assert _unresolved(world, now + timedelta(minutes=10)).empty  # a run may still be at it
    later = _unresolved(world, now + timedelta(hours=2))
    assert set(later["status"]) == {"sending"} and len(later) == 2


def test_not_delivered_releases_the_offer_for_the_next_dispatch(world, now, admin):
    _dispatch(world, now, LostAnswer())
    key = f"offer:{_offers(world)['c1'].id}"
    assert _resolve(world, admin, [key], sends.NOT_DELIVERED, now) == 1
    channel = FakeChannel()
    summary = _dispatch(world, now + timedelta(minutes=30), channel)
    assert channel.sent == [key] and summary.sent == 1 and summary.awaiting == 1
    assert _offers(world)["c1"].status == "sent"
    assert list(_unresolved(world, now)["customer_id"]) == ["c2"]
    with Session(world) as session:
        send = session.get(Send, key)
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "send.resolve")).one()
    assert send.status == "sent" and send.attempts == 2
    assert (event.actor, event.entity_id, event.reason) == (
        "ada",
        key,
        "checked the mail server log",
    )


def test_delivered_marks_the_offers_sent_and_nothing_goes_again(world, now, admin):
    _dispatch(world, now, LostAnswer())
    keys = list(_unresolved(world, now)["key"])
    assert _resolve(world, admin, keys, sends.DELIVERED, now + timedelta(hours=1)) == 2
    offers = _offers(world)
    assert {o.status for o in offers.values()} == {"sent"}
    assert {o.idempotency_key for o in offers.values()} == set(keys)
    assert all(o.sent_at.replace(tzinfo=None) == now.replace(tzinfo=None) for o in offers.values())
    channel = FakeChannel()
    _dispatch(world, now + timedelta(hours=2), channel)
    assert channel.sent == [] and _unresolved(world, now).empty
    with Session(world) as session:
        assert {s.status for s in session.exec(select(Send))} == {"sent"}
        assert (
            len(session.exec(select(AuditEvent).where(AuditEvent.action == "send.resolve")).all())
            == 2
        )


@pytest.mark.parametrize("role", ["planner", "support", "manager"])
def test_only_admins_resolve(world, now, role, request):
    _dispatch(world, now, LostAnswer())
    keys = list(_unresolved(world, now)["key"])
    with pytest.raises(PermissionDenied):
        _resolve(world, request.getfixturevalue(role), keys, sends.DELIVERED, now)
    with pytest.raises(PermissionDenied):
        _resolve(world, SYSTEM, keys, sends.DELIVERED, now)
    assert len(_unresolved(world, now)) == 2


def test_bad_requests_change_nothing(world, now, admin):
    _dispatch(world, now, LostAnswer())
    keys = list(_unresolved(world, now)["key"])
    with pytest.raises(InvalidInput, match="reason"):
        _resolve(world, admin, keys, sends.DELIVERED, now, reason=" ")
    with pytest.raises(InvalidInput, match="delivered"):
        _resolve(world, admin, keys, "maybe", now)
    with pytest.raises(NotFound):
        _resolve(world, admin, [*keys, "offer:999"], sends.DELIVERED, now)
    _resolve(world, admin, keys[:1], sends.DELIVERED, now)
    with pytest.raises(InvalidInput, match="is sent"):
        _resolve(world, admin, keys, sends.NOT_DELIVERED, now)
    assert list(_unresolved(world, now)["key"]) == keys[1:]
    assert _offers(world)["c2"].status == "approved"


def test_the_jobs_page_warns_and_an_admin_resolves_there(world, now, admin, monkeypatch):
    pages.use_database(monkeypatch, world)
    _dispatch(world, now, LostAnswer())
    page = pages.page("job_runs", admin).run()
    assert not page.exception
    assert "2 send(s) with an unknown outcome" in page.warning[0].value
    assert len(page.dataframe[0].value) == 2
    page.radio[0].set_value(sends.NOT_DELIVERED)
    page.text_input[0].input("the webhook receiver has no record of them")
    page.button(key="resolve_sends").click()
    page.run()
    assert not page.exception and not page.error
    assert "Resolved 2 send(s): not delivered" in page.toast[0].value
    assert not any("unknown outcome" in w.value for w in page.warning)
    with Session(world) as session:
        assert {s.status for s in session.exec(select(Send))} == {"failed"}


def test_the_jobs_page_refuses_a_resolution_without_reason(world, now, admin, monkeypatch):
    pages.use_database(monkeypatch, world)
    _dispatch(world, now, LostAnswer())
    page = pages.page("job_runs", admin).run()
    page.button(key="resolve_sends").click()
    page.run()
    assert "reason is required" in page.error[0].value
    assert len(_unresolved(world, now)) == 2


def test_other_roles_do_not_reach_the_jobs_page(world, now, planner, monkeypatch):
    pages.use_database(monkeypatch, world)
    _dispatch(world, now, LostAnswer())
    page = pages.page("job_runs", planner).run()
    assert not page.dataframe and not any(b.key == "resolve_sends" for b in page.button)
