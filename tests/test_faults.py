"""Faults in the middle of a job: the database connection dropping, a full disk, an SMTP server
that refuses or never answers, a webhook answering 500. Each leaves the data consistent, the
run recorded as failed, and a rerun finishes the work without sending anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import json
import socket
import threading
from datetime import timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from typer.testing import CliRunner

from cli import context as cli_context
from cli.main import app
from core import channels, dispatch, sends
from core.audit import AuditEvent, verify
from core.channels import SmtpChannel, WebhookChannel
from core.db import is_sqlite
from core.jobruns import JobRun
from core.pauses import Pause
from core.roles import SYSTEM
from core.scores import CustomerScore
from core.sends import Send
from jobs import registry
from tests import loop_factories as f
from tests import test_dispatch_channels as loop_channels
from tests.factories import write
from tests.test_channels import Mailbox, _free_port
from tests.test_dispatch_channels import SECRET, _offers

# The dispatch world (c1 and c3 due, c2 held out) and the signature-checking webhook.
world, hook = loop_channels.world, loop_channels.hook


def _run(engine, job, at):
    return registry.run(engine, job, slot=at, actor=SYSTEM, clock=lambda: at)


def _runs(engine, job="dispatch") -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(select(JobRun.status).where(JobRun.job == job).order_by(JobRun.id))
            .scalars()
            .all()
        )


def _sends(engine) -> dict[str, tuple[str, int]]:
    with Session(engine) as session:
        return {s.key: (s.status, s.attempts) for s in session.exec(select(Send)).scalars()}


def _audit_actions(engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def _chain_ok(engine) -> bool:
    with Session(engine) as session:
        return verify(session).ok


def _use_channel(monkeypatch, channel) -> None:
    monkeypatch.setattr(dispatch, "channel_from_settings", lambda _settings, now: channel)


class Recording:
    """Wraps a channel and counts what it was handed."""

    def __init__(self, inner):
        self.inner, self.name, self.handed = inner, inner.name, []

    def send(self, messages):
        self.handed += [m.key for m in messages]
        return self.inner.send(messages)


# --- the database connection drops in the middle of a job ----------------------------------


@contextlib.contextmanager
def connection_drops_at(engine, statement_start: str):
    """The first statement starting with `statement_start` finds its connection gone.

    PostgreSQL: the server really ends the connection (pg_terminate_backend) just before the
    statement runs. SQLite has no server, so the driver error is raised in its place.
    """
    state = {"armed": True}

    def before(conn, cursor, statement, parameters, context, executemany):
        if not state["armed"] or not statement.lstrip().upper().startswith(statement_start):
            return
        state["armed"] = False
        if is_sqlite(engine):
            raise OperationalError(statement, parameters, Exception("disk I/O error"))
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as killer:
            killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.commit()

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield state
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_dropped_connection_mid_dispatch_fails_the_run_and_the_rerun_sends_nothing_twice(
    world, now, monkeypatch, tmp_path
):
    channel = Recording(dispatch.CsvExportChannel(tmp_path / "outbox", stamp=now))
    _use_channel(monkeypatch, channel)
    with connection_drops_at(world, "UPDATE OFFERS") as state:
        first = _run(world, "dispatch", now)
    assert not state["armed"], "the fault was never reached"
    assert first.status == "failed" and "OperationalError" in first.error
    assert _runs(world) == ["failed"]
    # The messages left before the drop; the ledger, committed apart, says so.
    assert {status for status, _ in _sends(world).values()} == {"sent"}
    offers = _offers(world)
    assert {o.status for o in offers.values()} == {"approved"}  # the job's writes rolled back
    assert _audit_actions(world) == []
    again = _run(world, "dispatch", now)  # the failed slot runs again
    assert again.status == "succeeded" and again.rows == 2
    assert sorted(channel.handed) == sorted(_sends(world))  # each key handed over once
    assert len(list((tmp_path / "outbox").glob("*.csv"))) == 1
    offers = _offers(world)
    assert {offers[c].status for c in ("c1", "c3")} == {"sent"} and offers["c2"].sent_at is None
    assert _audit_actions(world) == ["offers.dispatch"] and _chain_ok(world)


def test_a_dropped_connection_mid_watch_leaves_no_pause_and_the_rerun_sets_it(engine, now):
    f.catalogue(engine, stock={"PAINT-1": 0})
    f.customers(engine, "c1")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1")
    with connection_drops_at(engine, "INSERT INTO AUDIT_EVENTS"):
        first = _run(engine, "inventory_watch", now)
    assert first.status == "failed" and _runs(engine, "inventory_watch") == ["failed"]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Pause)).one()[0] == 0
    assert _audit_actions(engine) == []
    again = _run(engine, "inventory_watch", now)
    assert again.status == "succeeded" and again.rows >= 1
    with Session(engine) as session:
        paused = [p.target for p in session.exec(select(Pause)).scalars()]
    assert "PAINT-1" in paused and _audit_actions(engine).count("pause.create") == len(paused)
    assert _chain_ok(engine)


# --- the disk fills while the CSV channel writes ------------------------------------------


class FullDisk:
    """A csv.writer whose second row finds no space left."""

    def __init__(self, real):
        self.real, self.rows = real, 0

    def __call__(self, handle, *args, **kwargs):
        writer = self.real(handle, *args, **kwargs)
        outer = self

        class Writer:
            def writerow(self, row):
                outer.rows += 1
                if outer.rows >= 2:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return writer.writerow(row)

        return Writer()


def test_a_full_disk_on_export_fails_the_run_and_leaves_no_part_file(
    world, now, monkeypatch, tmp_path
):
    outbox = tmp_path / "outbox"
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "csv")
    monkeypatch.setenv("EASEL_OUTBOX_DIR", str(outbox))
    monkeypatch.setattr(channels, "csv", SimpleNamespace(writer=FullDisk(csv.writer)))
    first = _run(world, "dispatch", now)
    assert first.status == "failed" and "No space left on device" in first.error
    assert list(outbox.iterdir()) == []  # no half file for the e-mail service to pick up
    assert {status for status, _ in _sends(world).values()} == {"failed"}
    assert {o.status for o in _offers(world).values()} == {"approved"}
    monkeypatch.undo()
    monkeypatch.setenv("EASEL_DISPATCH_CHANNEL", "csv")
    monkeypatch.setenv("EASEL_OUTBOX_DIR", str(outbox))
    later = now + timedelta(minutes=15)
    assert _run(world, "dispatch", later).rows == 2
    [export] = outbox.glob("*.csv")
    lines = export.read_text().splitlines()
    assert len(lines) == 3 and sum("c1@example.org" in line for line in lines) == 1
    assert _run(world, "dispatch", later + timedelta(minutes=15)).rows == 0
    assert len(list(outbox.glob("*.csv"))) == 1
    assert _runs(world) == ["failed", "succeeded", "succeeded"]


# --- SMTP: refused, or no answer ---------------------------------------------------------


class Refusing(Mailbox):
    """Refuses every message at DATA with a permanent error."""

    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 Message rejected"


class Slow(Mailbox):
    """Takes the message, then answers too late: the sender cannot know it arrived."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(1.5)
        return "250 OK"


@contextlib.contextmanager
def smtp_server(handler):
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_smtp_refusing_every_message_fails_the_run_and_the_rerun_sends_each_once(
    world, now, monkeypatch
):
    refusing, good = Refusing(refuse=None), Mailbox(refuse=None)
    with smtp_server(refusing) as port:
        _use_channel(monkeypatch, SmtpChannel("127.0.0.1", port, sender="o@x.org", timeout=5))
        first = _run(world, "dispatch", now)
    assert first.status == "failed" and "2 refused" in first.error
    assert {status for status, _ in _sends(world).values()} == {"failed"}
    assert {o.status for o in _offers(world).values()} == {"approved"}
    with smtp_server(good) as port:
        _use_channel(monkeypatch, SmtpChannel("127.0.0.1", port, sender="o@x.org", timeout=5))
        assert _run(world, "dispatch", now + timedelta(minutes=15)).rows == 2
        assert _run(world, "dispatch", now + timedelta(minutes=30)).rows == 0
    assert sorted(m["To"] for m in good.received) == ["c1@example.org", "c3@example.org"]
    assert _runs(world) == ["failed", "succeeded", "succeeded"]


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_an_smtp_server_that_never_answers_times_out_and_fails_the_run(
    world, now, monkeypatch, silent_server
):
    _use_channel(monkeypatch, SmtpChannel("127.0.0.1", silent_server, sender="o@x", timeout=0.5))
    first = _run(world, "dispatch", now)
    assert first.status == "failed" and "2 refused" in first.error
    with Session(world) as session:
        details = [s.detail for s in session.exec(select(Send)).scalars()]
    assert len(details) == 2 and all("No SMTP connection" in d for d in details)
    good = Mailbox(refuse=None)
    with smtp_server(good) as port:
        _use_channel(monkeypatch, SmtpChannel("127.0.0.1", port, sender="o@x.org", timeout=5))
        assert _run(world, "dispatch", now + timedelta(minutes=15)).rows == 2
    assert len(good.received) == 2


def test_an_smtp_answer_that_comes_too_late_is_never_sent_again_by_itself(
    world, now, monkeypatch, admin
):
    slow, good = Slow(refuse=None), Mailbox(refuse=None)
    with smtp_server(slow) as port:
        _use_channel(monkeypatch, SmtpChannel("127.0.0.1", port, sender="o@x.org", timeout=0.5))
        first = _run(world, "dispatch", now)
    # The first message may have arrived; the second was not attempted on the lost connection.
    assert first.status == "failed" and "1 uncertain" in first.error and "1 refused" in first.error
    assert sorted(status for status, _ in _sends(world).values()) == ["failed", "unknown"]
    [late] = [m["To"] for m in slow.received]
    with smtp_server(good) as port:
        _use_channel(monkeypatch, SmtpChannel("127.0.0.1", port, sender="o@x.org", timeout=5))
        second = _run(world, "dispatch", now + timedelta(minutes=15))
    # The uncertain one is not handed over again by itself; the other goes now.
    assert second.status == "succeeded" and "1 awaiting a person" in _last_message(world)
    assert [m["To"] for m in good.received] == [
        a for a in ("c1@example.org", "c3@example.org") if a != late
    ]
    with Session(world) as session:
        [key] = sends.unresolved(session, now=now + timedelta(hours=2))["key"]
        # A person checks the mail log and settles it: marked sent, nothing goes again.
        sends.resolve(
            session=session,
            actor=admin,
            keys=[key],
            outcome=sends.DELIVERED,
            reason="found in the mail server log",
            now=now + timedelta(hours=2),
        )
        session.commit()
    with smtp_server(good) as port:
        _use_channel(monkeypatch, SmtpChannel("127.0.0.1", port, sender="o@x.org", timeout=5))
        assert _run(world, "dispatch", now + timedelta(hours=3)).rows == 0
    assert len(good.received) == 1 and len(slow.received) == 1
    assert {o.status for o in _offers(world).values() if not o.holdout} == {"sent"}
    assert _chain_ok(world)


def _last_message(engine) -> str:
    with Session(engine) as session:
        return session.exec(select(JobRun.message).order_by(JobRun.id.desc())).scalars().first()


# --- a webhook answering 500 --------------------------------------------------------------


def test_a_webhook_500_for_one_offer_fails_the_run_and_the_rerun_posts_only_that_one(
    world, now, monkeypatch, hook
):
    first_to = {"c1@example.org"}

    class HalfBroken(WebhookChannel):
        def _post(self, message):
            hook.broken = message.email not in first_to
            return super()._post(message)

    url = f"http://127.0.0.1:{hook.server_address[1]}/offers"
    _use_channel(monkeypatch, HalfBroken(url, secret=SECRET, timeout=5))
    first = _run(world, "dispatch", now)
    assert first.status == "failed" and "1 refused" in first.error
    assert {o.status for o in _offers(world).values()} == {"approved"}
    first_to.add("c3@example.org")
    again = _run(world, "dispatch", now)
    assert again.status == "succeeded" and again.rows == 2
    posted = [json.loads(body)["email"] for _h, body, _v in hook.received]
    # c1 once (its delivery survived the failed run in the ledger), c3 refused once then sent.
    assert posted.count("c1@example.org") == 1 and posted.count("c3@example.org") == 2
    assert {o.status for o in _offers(world).values() if not o.holdout} == {"sent"}
    assert _audit_actions(world) == ["offers.dispatch"] and _chain_ok(world)


# --- the disk fills while `easel export` writes ---------------------------------------------


def full_disk_after_the_header(monkeypatch):
    """DataFrame.to_csv writes the header, then finds no space left."""
    real = pd.DataFrame.to_csv

    def to_csv(frame, target=None, *args, **kwargs):
        real(frame.head(0), target, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)


@pytest.mark.parametrize("what", ["offers", "scores"])
def test_a_full_disk_during_an_export_keeps_the_earlier_file_and_says_why(
    world, now, tmp_path, monkeypatch, what
):
    score = {"churn_probability": 0.8, "risk_band": "high", "expected_value": 100.0}
    write(
        world,
        CustomerScore,
        [
            {
                "as_of": now.date(),
                "customer_id": "c1",
                "value_at_risk": 80.0,
                "reasons": "[]",
                "scored_at": now,
                **score,
            }
        ],
    )
    monkeypatch.setattr(cli_context, "engine", lambda: world)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / f"{what}.csv"
    path.write_text("the export of last week\n")
    with pytest.MonkeyPatch.context() as disk:
        full_disk_after_the_header(disk)
        result = CliRunner().invoke(app, ["export", what, str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "No space left on device" in result.output and "nothing was written" in result.output
    assert path.read_text() == "the export of last week\n"
    assert [p.name for p in path.parent.iterdir()] == [f"{what}.csv"]  # no part file
    result = CliRunner().invoke(app, ["export", what, str(path)])
    assert result.exit_code == 0, result.output
    assert "c1" in path.read_text()
