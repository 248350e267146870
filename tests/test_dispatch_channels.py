"""The dispatch job end to end through real SMTP and webhook servers started by the tests."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from core.audit import AuditEvent
from core.campaigns import Offer
from core.channels import KEY_HEADER, SIGNATURE_HEADER, verify_signature
from core.jobruns import JobRun
from core.roles import SYSTEM
from core.sends import Send
from jobs import registry
from tests import loop_factories as f
from tests.test_channels import Mailbox, _free_port

SECRET = "hook-s3cret"


@pytest.fixture
def world(engine):
    """c1 and c3 due (win back, 10% off Acrylic; service recovery, a credit); c2 held out."""
    f.catalogue(engine)
    f.customers(engine, "c1", "c2", "c3")
    f.campaign(engine, 1)
    f.campaign(engine, 2, campaign_type="service_recovery")
    f.offer(engine, 1, "c1")
    f.offer(engine, 1, "c2", holdout=True)
    recovery = f.offer(
        engine, 2, "c3", sku=None, campaign_type="service_recovery", credit_amount=10.0
    )
    with Session(engine) as session:
        row = session.get(Offer, recovery.id)
        row.discount_pct = 0.0  # an apology with credit, no discount
        session.add(row)
        session.commit()
    return engine


def _ids(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {o.customer_id: o.id for o in session.exec(select(Offer))}


def _offers(engine) -> dict[str, Offer]:
    with Session(engine) as session:
        return {o.customer_id: o for o in session.exec(select(Offer))}


def _dispatch(engine, at):
    return registry.run(engine, "dispatch", slot=at, actor=SYSTEM, clock=lambda: at)


def _last_run(engine) -> JobRun:
    with Session(engine) as session:
        return session.exec(select(JobRun).order_by(JobRun.id.desc())).first()


@pytest.fixture
def smtp(monkeypatch):
    """An aiosmtpd server; the dispatch settings point at it (the port is free until started)."""
    mailbox = Mailbox(refuse=None)
    port = _free_port()
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "smtp")
    monkeypatch.setenv("EASEL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("EASEL_SMTP_PORT", str(port))
    monkeypatch.setenv("EASEL_SMTP_SENDER", "offers@shop.example")
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    yield mailbox, controller
    with contextlib.suppress(AssertionError):  # a server never started
        controller.stop()


def test_smtp_due_offers_arrive_once_with_their_content(world, now, smtp):
    mailbox, controller = smtp
    controller.start()
    ids = _ids(world)
    assert _dispatch(world, now).rows == 2
    by_to = {m["To"]: m for m in mailbox.received}
    assert set(by_to) == {"c1@example.org", "c3@example.org"}  # never the holdout c2
    win_back, recovery = by_to["c1@example.org"], by_to["c3@example.org"]
    assert win_back["Subject"] == "10% off Acrylic"
    assert win_back["From"] == "offers@shop.example"
    assert win_back[KEY_HEADER] == f"offer:{ids['c1']}"
    body = win_back.get_payload().replace("\r\n", "\n")
    assert body == "Hello Name,\n\n10% off Acrylic, this week only.\n"
    assert recovery["Subject"] == "A 10.00 credit towards your next order"
    offers = _offers(world)
    assert offers["c1"].status == offers["c3"].status == "sent"
    assert offers["c2"].status == "approved" and offers["c2"].sent_at is None
    later = now + timedelta(minutes=15)
    assert _dispatch(world, later).rows == 0
    assert len(mailbox.received) == 2  # a rerun sends nothing twice


def test_smtp_server_down_fails_the_run_and_leaves_the_offers_retryable(world, now, smtp):
    mailbox, controller = smtp
    outcome = _dispatch(world, now)
    assert outcome.status == "failed" and _last_run(world).status == "failed"
    assert "0 sent" in outcome.error and "2 refused" in outcome.error
    offers = _offers(world)
    assert {offers[c].status for c in ("c1", "c3")} == {"approved"}
    with Session(world) as session:
        assert {s.status for s in session.exec(select(Send))} == {"failed"}
        assert session.exec(select(AuditEvent)).all() == []  # the failed run changed nothing
    controller.start()
    later = now + timedelta(minutes=15)
    assert _dispatch(world, later).rows == 2
    with Session(world) as session:
        event = session.exec(select(AuditEvent)).one()
    assert json.loads(event.after)["refused"] == 0 and len(json.loads(event.after)["sent"]) == 2
    assert sorted(m["To"] for m in mailbox.received) == ["c1@example.org", "c3@example.org"]
    with Session(world) as session:
        attempts = {s.key: s.attempts for s in session.exec(select(Send))}
    assert set(attempts.values()) == {2}


def test_smtp_a_refused_recipient_is_retried_the_others_are_not(world, now, smtp):
    mailbox, controller = smtp
    mailbox.refuse = "c3@example.org"
    controller.start()
    _dispatch(world, now)
    assert [m["To"] for m in mailbox.received] == ["c1@example.org"]
    assert _offers(world)["c3"].status == "approved"
    mailbox.refuse = None
    _dispatch(world, now + timedelta(minutes=15))
    assert [m["To"] for m in mailbox.received] == ["c1@example.org", "c3@example.org"]


class SignedHook(BaseHTTPRequestHandler):
    """Accepts a POST only when its HMAC signature matches the body (401 otherwise)."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = verify_signature(SECRET, body, self.headers[SIGNATURE_HEADER])
        self.server.received.append((dict(self.headers), body, valid))
        status = 500 if self.server.broken else (200 if valid else 401)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SignedHook)
    server.received, server.broken = [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "webhook")
    monkeypatch.setenv("EASEL_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/offers")
    monkeypatch.setenv("EASEL_WEBHOOK_SECRET", SECRET)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_webhook_due_offers_arrive_once_signed_with_their_content(world, now, hook):
    ids = _ids(world)
    assert _dispatch(world, now).rows == 2
    assert all(valid for _h, _b, valid in hook.received)
    payloads = {
        json.loads(body)["email"]: (headers, json.loads(body)) for headers, body, _ in hook.received
    }
    assert set(payloads) == {"c1@example.org", "c3@example.org"}
    headers, win_back = payloads["c1@example.org"]
    assert headers[KEY_HEADER] == win_back["key"] == f"offer:{ids['c1']}"
    assert win_back["subject"] == "10% off Acrylic" and win_back["first_name"] == "Name"
    assert win_back["fields"] == {"campaign": "win_back", "sku": "PAINT-1", "discount_pct": 10.0}
    recovery = payloads["c3@example.org"][1]
    assert (
        recovery["fields"]["campaign"] == "service_recovery" and recovery["fields"]["sku"] is None
    )
    assert _dispatch(world, now + timedelta(minutes=15)).rows == 0
    assert len(hook.received) == 2
    assert _offers(world)["c2"].status == "approved"


def test_webhook_a_wrong_secret_is_refused_by_the_receiver_and_retried(
    world, now, hook, monkeypatch
):
    monkeypatch.setenv("EASEL_WEBHOOK_SECRET", "not-the-secret")
    outcome = _dispatch(world, now)
    assert outcome.status == "failed" and "2 refused" in outcome.error
    assert [valid for _h, _b, valid in hook.received] == [False, False]
    monkeypatch.setenv("EASEL_WEBHOOK_SECRET", SECRET)
    assert _dispatch(world, now + timedelta(minutes=15)).rows == 2
    assert {o.status for o in _offers(world).values() if not o.holdout} == {"sent"}


def test_webhook_server_errors_leave_the_offers_retryable(world, now, hook):
    hook.broken = True
    outcome = _dispatch(world, now)
    assert outcome.status == "failed" and "2 refused" in _last_run(world).error
    assert {o.status for o in _offers(world).values()} == {"approved"}
    hook.broken = False
    assert _dispatch(world, now + timedelta(minutes=15)).rows == 2
    delivered = [json.loads(body)["email"] for _h, body, _v in hook.received[2:]]
    assert sorted(delivered) == ["c1@example.org", "c3@example.org"]
