"""No password or secret ever reaches a log line (nor a stored send detail), at any log level."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import sends, users
from core.config import Settings
from core.dispatch import channel_from_settings
from core.roles import SYSTEM
from tests.test_channels import Mailbox, message, webhook_server  # noqa: F401

PASSWORD = "pw-Tr0ub4dor-3-secret"
SMTP_PASSWORD = "smtp-pw-correct-horse"
WEBHOOK_SECRET = "whsec-battery-staple"
SECRETS = (PASSWORD, SMTP_PASSWORD, WEBHOOK_SECRET)


@pytest.fixture
def every_log(caplog):
    """Every logger at DEBUG (SQLAlchemy's statements and parameters included)."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "mail.log", "core", "jobs"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=auth_data.password.decode() == SMTP_PASSWORD, handled=False)


@pytest.fixture
def smtp_with_login():
    controller = Controller(
        Mailbox(),
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_check_login,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_adding_users_and_failed_sign_ins_log_no_password(engine, now, every_log):
    with Session(engine) as session:
        users.add_user(
            session, actor=SYSTEM, username="pat", role="planner", password=PASSWORD, now=now
        )
        session.commit()
    for attempt in range(6):
        with Session(engine) as session:
            users.authenticate(
                session,
                username="pat",
                password=PASSWORD[:-1] + str(attempt),
                now=now + timedelta(seconds=attempt),
                max_failures=3,
            )
            session.commit()
    with Session(engine) as session:
        assert users.get_user(session, "pat").locked_until is not None
    assert "sqlalchemy.engine" in {r.name.rsplit(".", 1)[0] for r in every_log.records}
    _assert_no_secret(every_log.text)


def test_the_cli_logs_and_prints_no_password(engine, now, every_log, monkeypatch):
    monkeypatch.setattr(context, "engine", lambda: engine)
    monkeypatch.setenv("EASEL_PASSWORD", PASSWORD)
    result = CliRunner().invoke(app, ["users", "add", "meg", "--role", "manager"])
    assert result.exit_code == 0, result.output
    _assert_no_secret(result.output + every_log.text)


@pytest.mark.parametrize("password", [SMTP_PASSWORD, SMTP_PASSWORD + "-wrong"])
def test_smtp_dispatch_with_a_password_logs_it_nowhere(
    engine, now, every_log, smtp_with_login, password
):
    settings = Settings(
        dispatch_channel="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_with_login,
        smtp_username="easel",
        smtp_password=password,
    )
    results = sends.deliver(
        engine, channel_from_settings(settings, now=now), [message(1)], clock=lambda: now
    )
    expected = "sent" if password == SMTP_PASSWORD else "failed"
    assert [r.status for r in results] == [expected]
    with Session(engine) as session:
        details = session.exec(select(sends.Send.detail)).all()
    _assert_no_secret(every_log.text + repr(results) + repr(details))
    assert password not in every_log.text


@pytest.mark.parametrize("path", ["/offers", "/broken"])
def test_webhook_dispatch_with_a_secret_logs_it_nowhere(
    engine,
    now,
    every_log,
    webhook_server,  # noqa: F811
    path,
):
    server, url = webhook_server
    settings = Settings(
        dispatch_channel="webhook", webhook_url=url + path, webhook_secret=WEBHOOK_SECRET
    )
    results = sends.deliver(
        engine, channel_from_settings(settings, now=now), [message(1)], clock=lambda: now
    )
    assert [r.status for r in results] == ["sent" if path == "/offers" else "failed"]
    [(headers, body)] = server.received
    _assert_no_secret(every_log.text + repr(results) + repr(headers) + body.decode())
