"""Erasing a customer on request: their personal fields go, a pseudonym stays in the audit trail.

What is removed: the name and e-mail address, every contact consent (so nobody writes to them
again), their survey comments (free text in their own words) and the recipient address kept
with each send. What stays: the customer id (the shop's own reference), region and sign-up
date, orders, scores and offers, which hold no name or address and keep the figures whole.

The erasure's audit event names the customer by a keyed hash of the id, never the id: someone
who reads the trail cannot tell whom it was about, while the shop, holding the key, can answer
"was customer X erased?". Earlier events are never edited (the chain would break); see
SECURITY.md for what they may still hold.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import String, cast, literal, or_, select, update
from sqlmodel import Session, col

from core import audit
from core.campaigns import Offer
from core.db import begin_write
from core.errors import InvalidInput, NotFound
from core.roles import Actor, Permission, require
from core.sends import OFFER_KEY, Send
from core.tables import Customer, SurveyResponse

ERASED = "(erased)"
KEY_FILE = "pseudonym.key"


def pseudonym(key: bytes, customer_id: str) -> str:
    """A stable name for the customer that reveals nothing without the key."""
    return "customer:" + hmac.new(key, customer_id.encode(), hashlib.sha256).hexdigest()[:32]


def load_key(configured: str, data_dir: Path) -> bytes:
    """The pseudonym key: EASEL_PSEUDONYM_KEY when set, else a random key kept (owner-only) in
    the data folder, created on first use."""
    if configured:
        return configured.encode()
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class Erasure:
    pseudonym: str
    survey_comments: int
    sends: int
    event_id: int | None


def erase_customer(
    session: Session, *, actor: Actor, customer_id: str, reason: str, key: bytes, now: datetime
) -> Erasure:
    """Remove one customer's personal fields in the caller's transaction, with one audit event."""
    require(actor, Permission.ERASE_CUSTOMERS)
    begin_write(session)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer with id {customer_id!r}.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for the erasure (e.g. the request's reference).")
    personal = [v for v in (customer_id, customer.name, customer.email) if v]
    if any(value.lower() in reason.lower() for value in personal):
        raise InvalidInput(
            "The reason would keep the customer's id, name or e-mail in the audit trail; "
            "give the request's reference instead."
        )
    fields = sorted(
        name
        for name, value in (("name", customer.name), ("email", customer.email))
        if value is not None
    )
    sends = _erase_recipients(session, customer_id, customer.email)
    comments = session.execute(
        update(SurveyResponse)
        .where(
            col(SurveyResponse.customer_id) == customer_id,
            col(SurveyResponse.comment).is_not(None),
        )
        .values(comment=None)
    ).rowcount
    customer.name = customer.email = None
    customer.consent_email = customer.consent_sms = customer.consent_post = False
    session.add(customer)
    name = pseudonym(key, customer_id)
    event = audit.record(
        session,
        actor=actor,
        action="customer.erase",
        entity_type="customer",
        entity_id=name,
        after={"erased": fields, "survey_comments": comments, "sends": sends, "consent": False},
        reason=reason,
        now=now,
    )
    return Erasure(name, comments, sends, event.id)


def _erase_recipients(session: Session, customer_id: str, email: str | None) -> int:
    """Blank the address kept with the customer's sends (their offers' keys, or the address)."""
    offer_keys = select(literal(OFFER_KEY) + cast(Offer.id, String)).where(
        col(Offer.customer_id) == customer_id
    )
    mine = [col(Send.key).in_(offer_keys)]
    if email:
        mine.append(col(Send.recipient) == email)
    statement = (
        update(Send)
        .where(or_(*mine), col(Send.recipient) != ERASED)
        .values(recipient=ERASED)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount
