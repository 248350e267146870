"""Channels deliver to real local servers; the send ledger never lets a key out twice."""

from __future__ import annotations

import csv
import json
import socket
import threading
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session

from core import sends
from core.channels import (
    CSV_COLUMNS,
    KEY_HEADER,
    SIGNATURE_HEADER,
    CsvExportChannel,
    Message,
    Result,
    SmtpChannel,
    WebhookChannel,
    verify_signature,
)
from core.sends import Send

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
SECRET = "s3cret"


def clock() -> datetime:
    return NOW


def message(n: int, email: str | None = None) -> Message:
    return Message(
        key=f"offer:{n}",
        email=email or f"customer{n}@example.com",
        first_name=f"Ann{n}",
        subject="A little something for your next canvas",
        body=f"Dear Ann{n}, 10% off acrylics this week.",
        fields={"campaign": "first_to_repeat", "sku": f"P{n}", "discount_pct": 10},
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and refuses one address."""

    def __init__(self, refuse: str = "nobody@example.com"):
        self.received: list = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        status = 500 if self.path == "/broken" else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def webhook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_smtp_delivers_each_message_with_its_key(smtp_server):
    mailbox, port = smtp_server
    channel = SmtpChannel("127.0.0.1", port, sender="hello@easel.example")
    results = channel.send([message(1), message(2)])
    assert [r.status for r in results] == ["sent", "sent"]
    assert [m["To"] for m in mailbox.received] == ["customer1@example.com", "customer2@example.com"]
    first = mailbox.received[0]
    assert first[KEY_HEADER] == "offer:1"
    assert "10% off acrylics" in first.get_payload()


def test_smtp_reports_a_refused_recipient_as_failed_and_sends_the_rest(smtp_server):
    mailbox, port = smtp_server
    channel = SmtpChannel("127.0.0.1", port, sender="hello@easel.example")
    results = channel.send([message(1, "nobody@example.com"), message(2)])
    assert [r.status for r in results] == ["failed", "sent"]
    assert len(mailbox.received) == 1


def test_smtp_without_a_server_fails_every_message():
    channel = SmtpChannel("127.0.0.1", _free_port(), sender="hello@easel.example", timeout=5)
    assert {r.status for r in channel.send([message(1), message(2)])} == {"failed"}


def test_webhook_posts_a_signed_body(webhook_server):
    server, url = webhook_server
    results = WebhookChannel(url + "/offers", secret=SECRET).send([message(1)])
    assert results == [Result("offer:1", "sent", "HTTP 200")]
    [(headers, body)] = server.received
    assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER])
    assert not verify_signature("other", body, headers[SIGNATURE_HEADER])
    assert headers[KEY_HEADER] == "offer:1"
    payload = json.loads(body)
    assert payload["email"] == "customer1@example.com" and payload["fields"]["sku"] == "P1"


def test_webhook_error_status_is_a_failure(webhook_server):
    _server, url = webhook_server
    [result] = WebhookChannel(url + "/broken", secret=SECRET).send([message(1)])
    assert result.status == "failed" and "500" in result.detail


def test_csv_export_uses_the_list_import_layout(tmp_path):
    channel = CsvExportChannel(tmp_path, stamp=NOW)
    results = channel.send([message(1), message(2)])
    assert {r.status for r in results} == {"sent"}
    [path] = tmp_path.glob("*.csv")
    assert path.name == "offers-20260615-093000.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*CSV_COLUMNS, "CAMPAIGN", "DISCOUNT_PCT", "SKU"]
    assert rows[1]["Email Address"] == "customer2@example.com"
    assert rows[1]["First Name"] == "Ann2" and rows[1]["SKU"] == "P2"
    assert rows[0]["Offer Key"] == "offer:1"
    # A second batch in the same second gets its own file; nothing is overwritten.
    channel.send([message(3)])
    assert len(list(tmp_path.glob("*.csv"))) == 2
    assert not list(tmp_path.glob("*.part"))


def test_a_key_is_never_sent_twice(engine, smtp_server):
    mailbox, port = smtp_server
    channel = SmtpChannel("127.0.0.1", port, sender="hello@easel.example")
    first = sends.deliver(engine, channel, [message(1), message(2)], clock=clock)
    again = sends.deliver(engine, channel, [message(1), message(2), message(3)], clock=clock)
    assert [r.status for r in first] == ["sent", "sent"]
    assert [r.status for r in again] == ["duplicate", "duplicate", "sent"]
    assert again[0].detail == "already sent"
    assert len(mailbox.received) == 3
    assert sends.states(engine, ["offer:1", "offer:3"]) == {"offer:1": "sent", "offer:3": "sent"}


def test_a_key_repeated_in_one_batch_goes_once(engine, webhook_server):
    server, url = webhook_server
    channel = WebhookChannel(url, secret=SECRET)
    results = sends.deliver(engine, channel, [message(1), message(1)], clock=clock)
    assert [r.status for r in results] == ["sent", "duplicate"]
    assert len(server.received) == 1


class CrashAfterSending:
    """Hands the messages over, then dies before it can answer (a crash mid-dispatch)."""

    name = "webhook"

    def __init__(self, inner):
        self.inner = inner

    def send(self, messages):
        self.inner.send(messages)
        raise SystemExit("killed")


def test_after_a_crash_mid_send_the_key_is_not_sent_again(engine, webhook_server):
    server, url = webhook_server
    channel = WebhookChannel(url, secret=SECRET)
    with pytest.raises(SystemExit):
        sends.deliver(engine, CrashAfterSending(channel), [message(1)], clock=clock)
    assert len(server.received) == 1
    rerun = sends.deliver(engine, channel, [message(1)], clock=clock)
    assert rerun == [Result("offer:1", "duplicate", "already sending")]
    assert len(server.received) == 1


def test_a_refused_key_may_be_tried_again(engine, webhook_server):
    _server, url = webhook_server
    [refused] = sends.deliver(
        engine, WebhookChannel(url + "/broken", secret=SECRET), [message(1)], clock=clock
    )
    assert refused.status == "failed"
    [retried] = sends.deliver(engine, WebhookChannel(url, secret=SECRET), [message(1)], clock=clock)
    assert retried.status == "sent"
    with Session(engine) as session:
        row = session.get(Send, "offer:1")
    assert (row.status, row.attempts, row.recipient) == ("sent", 2, "customer1@example.com")


def test_two_dispatchers_at_once_send_each_key_once(engine, webhook_server):
    server, url = webhook_server
    batch = [message(n) for n in range(20)]
    threads = [
        threading.Thread(
            target=sends.deliver,
            args=(engine, WebhookChannel(url, secret=SECRET), batch),
            kwargs={"clock": clock, "batch_size": 5},
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    keys = [json.loads(body)["key"] for _headers, body in server.received]
    assert sorted(keys) == sorted(m.key for m in batch)
