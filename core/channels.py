"""Where offers go out: one small interface, three channels (CSV export, SMTP, signed webhook).

A channel only transports. That a key is never sent twice is core.sends' work, which wraps
any channel; each channel says per message whether it was `sent`, `failed` (the other side
refused it: safe to try again) or `unknown` (it may have arrived: never retried by itself).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import os
import smtplib
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from core.csv_safety import safe_row

log = logging.getLogger(__name__)

SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
SIGNATURE_HEADER = "X-Easel-Signature"
KEY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Message:
    """One offer to one person; `key` identifies it for ever (e.g. "offer:1234")."""

    key: str
    email: str
    first_name: str
    subject: str
    body: str
    fields: dict[str, str | int | float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    key: str
    status: str  # sent | failed | unknown | duplicate (the last from core.sends)
    detail: str = ""


class Channel(Protocol):
    name: str

    def send(self, messages: Sequence[Message]) -> list[Result]:
        """Deliver the messages; one result per message, in order."""
        ...


# The list-import layout of Mailchimp-style e-mail services: the address and name columns
# they recognise by header, then one merge field per offer detail.
CSV_COLUMNS = ["Email Address", "First Name", "Subject", "Offer Key"]


class CsvExportChannel:
    """Writes one list-import CSV per batch into a folder, for an e-mail service to pick up."""

    name = "csv"

    def __init__(self, folder: Path, *, stamp: datetime, prefix: str = "offers"):
        self.folder, self.stamp, self.prefix = Path(folder), stamp, prefix

    def send(self, messages: Sequence[Message]) -> list[Result]:
        if not messages:
            return []
        extra = sorted({name for m in messages for name in m.fields})
        header = CSV_COLUMNS + [name.upper() for name in extra]
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._free_name()
        # Write beside the target and rename: a crash leaves no half file for the service.
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(safe_row(header))
                for m in messages:
                    values = [m.fields.get(name) for name in extra]
                    writer.writerow(safe_row([m.email, m.first_name, m.subject, m.key, *values]))
            os.replace(temporary, target)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            return [Result(m.key, FAILED, f"Could not write {target}: {error}") for m in messages]
        return [Result(m.key, SENT, str(target)) for m in messages]

    def _free_name(self) -> Path:
        base = f"{self.prefix}-{self.stamp:%Y%m%d-%H%M%S}"
        target, n = self.folder / f"{base}.csv", 1
        while target.exists():
            n += 1
            target = self.folder / f"{base}-{n}.csv"
        return target


class SmtpChannel:
    """Sends each message as an e-mail over one SMTP connection per batch."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = (
            username,
            password,
            starttls,
            timeout,
        )

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.email
        email["Subject"] = message.subject
        # A stable Message-ID lets the receiving side drop a duplicate too.
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        email["Message-ID"] = f"<{digest}@easel>"
        email[KEY_HEADER] = message.key
        email.set_content(message.body)
        return email

    def send(self, messages: Sequence[Message]) -> list[Result]:
        if not messages:
            return []
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as error:
            # Nothing was handed over: safe to try again.
            return [Result(m.key, FAILED, f"No SMTP connection: {error}") for m in messages]
        results: list[Result] = []
        try:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            for position, message in enumerate(messages):
                try:
                    refused = smtp.send_message(self._email(message))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as error:
                    results.append(Result(message.key, FAILED, f"Refused: {error}"))
                    continue
                except smtplib.SMTPDataError as error:
                    results.append(Result(message.key, FAILED, f"Rejected: {error}"))
                    continue
                except (OSError, smtplib.SMTPException) as error:
                    # The connection broke mid-conversation: this one may have arrived.
                    results.append(Result(message.key, UNKNOWN, f"Connection lost: {error}"))
                    results.extend(
                        Result(m.key, FAILED, "Not attempted: connection lost")
                        for m in messages[position + 1 :]
                    )
                    break
                if refused:
                    results.append(Result(message.key, FAILED, f"Refused: {refused}"))
                else:
                    results.append(Result(message.key, SENT, "accepted"))
        except (OSError, smtplib.SMTPException) as error:
            done = {r.key for r in results}
            results.extend(
                Result(m.key, FAILED, f"SMTP session failed: {error}")
                for m in messages
                if m.key not in done
            )
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return results


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): whether a signature header matches the body."""
    return hmac.compare_digest(signature(secret, body), header or "")


class WebhookChannel:
    """POSTs each message as JSON, signed with HMAC-SHA256 over the exact body bytes."""

    name = "webhook"

    def __init__(self, url: str, *, secret: str, timeout: float = 15.0):
        if not secret:
            raise ValueError("A webhook needs a signing secret.")
        self.url, self.secret, self.timeout = url, secret, timeout

    def _body(self, message: Message) -> bytes:
        payload = {
            "key": message.key,
            "email": message.email,
            "first_name": message.first_name,
            "subject": message.subject,
            "body": message.body,
            "fields": message.fields,
        }
        return json.dumps(payload, sort_keys=True, default=str).encode()

    def send(self, messages: Sequence[Message]) -> list[Result]:
        return [self._post(message) for message in messages]

    def _post(self, message: Message) -> Result:
        body = self._body(message)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(self.secret, body),
                KEY_HEADER: message.key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Result(message.key, SENT, f"HTTP {response.status}")
        except urllib.error.HTTPError as error:
            # The receiver answered and said no.
            return Result(message.key, FAILED, f"HTTP {error.code}: {error.reason}")
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError | socket.gaierror):
                return Result(message.key, FAILED, f"Not reachable: {error.reason}")
            return Result(message.key, UNKNOWN, f"No answer: {error.reason}")
        except (TimeoutError, OSError) as error:
            return Result(message.key, UNKNOWN, f"No answer: {error}")
