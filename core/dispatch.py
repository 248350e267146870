"""Dispatch: send approved offers whose day has come, re-checked at send time, never twice.

At send time each approved (or overridden) treated offer of an approved campaign is checked
again, in this order:
- an approval older than `max_age`, or given before a material fall in the SKU's stock
  (the stock feed was updated after the approval and on hand is now below (1 - share) of the
  units the proposal counted as spare), expires the offer: a person must look again;
- an active pause on the SKU, its supplier, its category, the customer or everything holds the
  offer back unchanged, so that it goes once the pause is lifted (unless it expires first);
- no consent for its channel, no e-mail address, a SKU out of stock or short of its lead time,
  or a customer already contacted within the week (the contact cap) suppresses it, with the reason.
Holdout offers are never selected. The rest go through core.sends.deliver with the key
`offer:<id>`: the ledger commits each claim before the message leaves, so a rerun after a
crash finds the key and marks the offer sent instead of sending it again.

On SQLite the reads happen on a short connection of their own and every write to the offers
comes after the deliveries, so that the send ledger's own transactions never wait for the
job's write lock.
"""

from __future__ import annotations

import json
import logging
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import audit, inventory, pauses, sends
from core.campaign_config import load_config
from core.campaigns import Campaign, Offer, Status
from core.channels import SENT, Channel, CsvExportChannel, Message, SmtpChannel, WebhookChannel
from core.config import Settings
from core.errors import InvalidInput
from core.inventory_watch import sku_problems
from core.roles import Actor, Permission, require
from core.sql_lists import among
from core.tables import Customer, Product, StockLevel

log = logging.getLogger(__name__)

SENDABLE = (Status.APPROVED.value, Status.OVERRIDDEN.value)
# Keys claimed per ledger transaction; also one list-import file per batch for the CSV channel.
SEND_BATCH = 1000
SEND, HOLD, EXPIRE, SUPPRESS = "send", "hold", "expire", "suppress"


@dataclass
class DispatchSummary:
    sent: int = 0
    already_sent: int = 0
    held: int = 0
    expired: int = 0
    suppressed: int = 0
    uncertain: int = 0  # the channel may or may not have delivered them in this run
    awaiting: int = 0  # an earlier attempt's outcome is unknown; a person must settle it
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    first_problem: str = ""  # what the channel said about the first offer it did not deliver

    @property
    def changes(self) -> int:
        return self.sent + self.already_sent + self.expired + self.suppressed

    def describe(self) -> str:
        return (
            f"{self.sent} sent, {self.already_sent} found sent earlier, {self.expired} expired, "
            f"{self.suppressed} suppressed, {self.held} held by pauses, {self.failed} refused, "
            f"{self.uncertain} uncertain, {self.awaiting} awaiting a person"
        )

    @property
    def complete(self) -> bool:
        """Whether every offer handed to the channel in this run was delivered."""
        return not (self.failed or self.uncertain)


def channel_from_settings(settings: Settings, *, now: datetime) -> Channel:
    """The configured channel: CSV export (default), SMTP or a signed webhook."""
    name = settings.dispatch_channel.strip().lower()
    if name == "csv":
        return CsvExportChannel(settings.outbox, stamp=now)
    if name == "smtp":
        return SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            starttls=settings.smtp_starttls,
        )
    if name == "webhook":
        if not settings.webhook_url or not settings.webhook_secret:
            raise InvalidInput(
                "The webhook channel needs EASEL_WEBHOOK_URL and EASEL_WEBHOOK_SECRET."
            )
        return WebhookChannel(settings.webhook_url, secret=settings.webhook_secret)
    raise InvalidInput(f"Unknown dispatch channel {name!r}; choose csv, smtp or webhook.")


def due_offers(conn, *, now: datetime) -> pd.DataFrame:
    """Approved treated offers of approved campaigns whose send date has come, not yet sent."""
    o, c, cu = Offer.__table__, Campaign.__table__, Customer.__table__
    p, st = Product.__table__, StockLevel.__table__
    statement = (
        select(
            o.c.id.label("offer_id"),
            o.c.customer_id,
            o.c.campaign_type,
            o.c.sku,
            o.c.discount_pct,
            o.c.credit_amount,
            o.c.channel,
            o.c.holdout,
            o.c.expected_revenue,
            o.c.expected_cost,
            c.c.reviewed_at.label("approved_at"),
            c.c.stock_impact,
            cu.c.name,
            cu.c.email,
            cu.c.consent_email,
            cu.c.consent_sms,
            cu.c.consent_post,
            p.c.name.label("product"),
            p.c.supplier_id,
            p.c.category,
            st.c.on_hand,
            st.c.updated_at.label("stock_updated_at"),
        )
        .select_from(
            o.join(c, c.c.id == o.c.campaign_id)
            .join(cu, cu.c.customer_id == o.c.customer_id)
            .outerjoin(p, p.c.sku == o.c.sku)
            .outerjoin(st, st.c.sku == o.c.sku)
        )
        .where(
            o.c.status.in_(SENDABLE),
            c.c.status == Status.APPROVED.value,
            # Implied by the status; lets ix_offers_suppressed_holdout find the offers.
            o.c.suppressed.is_(False),
            o.c.holdout.is_(False),
            o.c.sent_at.is_(None),
            func.coalesce(o.c.send_date, c.c.send_date) <= now.date(),
        )
        .order_by(o.c.id)
    )
    # Plain tuples: pandas asks each row object for attributes, which is slow on SQLAlchemy's rows.
    rows = [tuple(row) for row in conn.execute(statement)]
    return pd.DataFrame(rows, columns=list(statement.selected_columns.keys()))


def _spare_at_proposal(frame: pd.DataFrame) -> pd.Series:
    """Units of each offer's SKU that its campaign's proposal counted as spare (NaN: unknown)."""
    parsed: dict[str, dict] = {}
    values = []
    for impact, sku in zip(frame["stock_impact"], frame["sku"], strict=True):
        if not isinstance(impact, str) or not isinstance(sku, str):
            values.append(np.nan)
            continue
        table = parsed.setdefault(impact, json.loads(impact))  # one parse per campaign
        values.append(float(table[sku].get("spare_units", 0.0)) if sku in table else np.nan)
    return pd.Series(values, index=frame.index, dtype=float)


def decide(
    due: pd.DataFrame,
    *,
    now: datetime,
    max_age: timedelta,
    material_change: float,
    active_pauses: pd.DataFrame,
    bad_skus: dict[str, str],
    contacted: pd.Series,
    cap: int = 1,
) -> pd.DataFrame:
    """`due` with `action` (send, hold, expire, suppress) and `why` per offer; the first rule wins."""
    frame = due.copy()
    frame["action"], frame["why"] = SEND, ""
    if frame.empty:
        return frame
    undecided = pd.Series(True, index=frame.index)

    def apply(mask, action: str, why) -> None:
        chosen = mask.fillna(False).astype(bool) & undecided
        frame.loc[chosen, "action"] = action
        frame.loc[chosen, "why"] = why[chosen] if isinstance(why, pd.Series) else why
        undecided[chosen] = False

    approved_at = pd.to_datetime(frame["approved_at"], utc=True)
    hours = max_age.total_seconds() / 3600
    apply(
        approved_at.isna() | (pd.Timestamp(now) - approved_at > max_age),
        EXPIRE,
        f"approval is older than {hours:.0f} hours; review it again",
    )
    spare = _spare_at_proposal(frame)
    on_hand = pd.to_numeric(frame["on_hand"], errors="coerce").fillna(0)
    moved = pd.to_datetime(frame["stock_updated_at"], utc=True) > approved_at
    fell = moved & spare.notna() & (on_hand < (1 - material_change) * spare)
    apply(
        fell,
        EXPIRE,
        "stock of "
        + frame["sku"].astype(str)
        + " fell to "
        + on_hand.astype(int).astype(str)
        + " after the approval (the proposal counted "
        + spare.round(0).astype(str)
        + " spare); review it again",
    )
    scope = active_pauses["scope"]
    targets = {
        name: set(active_pauses.loc[scope == name, "target"])
        for name in ("sku", "supplier", "category", "customer")
    }
    paused = (
        frame["customer_id"].isin(targets["customer"])
        | frame["sku"].isin(targets["sku"])
        | (frame["sku"].notna() & frame["supplier_id"].isin(targets["supplier"]))
        | (frame["sku"].notna() & frame["category"].isin(targets["category"]))
    )
    if (scope == pauses.PauseScope.ALL).any():
        paused[:] = True
    apply(paused, HOLD, "held by an active pause")
    channel = frame["channel"].fillna("email")
    consent = pd.Series(False, index=frame.index)
    for name in ("email", "sms", "post"):
        consent |= (channel == name) & frame[f"consent_{name}"].fillna(False).astype(bool)
    apply(~consent, SUPPRESS, "no consent for " + channel)
    apply(frame["email"].isna() | (frame["email"] == ""), SUPPRESS, "no e-mail address")
    apply(
        frame["sku"].isin(list(bad_skus)),
        SUPPRESS,
        "at send time: " + frame["sku"].map(bad_skus).fillna(""),
    )
    # At most `cap` offers per customer per calendar week: the most valuable of those due,
    # counting what already went out this week.
    value = frame["expected_revenue"].fillna(0) - frame["expected_cost"].fillna(0)
    ranked = frame.assign(_value=value)[undecided].sort_values("_value", ascending=False)
    already = contacted.astype("float64").reindex(ranked["customer_id"].to_numpy()).fillna(0)
    over = ranked.groupby("customer_id").cumcount() + already.to_numpy() >= cap
    capped = pd.Series(False, index=frame.index)
    capped[over[over].index] = True
    apply(capped, SUPPRESS, "contact cap: the customer already has an offer this week")
    return frame


def message(row) -> Message:
    """The e-mail for one offer."""
    # Offers without a SKU (service recovery) come out of the frame with NaN, not None.
    what = row.product if isinstance(row.product, str) and row.product else "your next order"
    if row.discount_pct:
        subject = f"{row.discount_pct:.0f}% off {what}"
    elif row.credit_amount:
        subject = f"A {row.credit_amount:.2f} credit towards {what}"
    else:
        subject = f"Something for you: {what}"
    first = (row.name if isinstance(row.name, str) else "").split(" ")[0] or "there"
    body = f"Hello {first},\n\n{subject}, this week only.\n"
    return Message(
        key=f"{sends.OFFER_KEY}{row.offer_id}",
        email=row.email,
        first_name=first,
        subject=subject,
        body=body,
        fields={
            "campaign": row.campaign_type,
            "sku": row.sku if isinstance(row.sku, str) else None,
            "discount_pct": float(row.discount_pct or 0.0),
        },
    )


MESSAGE_COLUMNS = [
    "offer_id",
    "customer_id",
    "campaign_type",
    "sku",
    "discount_pct",
    "credit_amount",
    "name",
    "email",
    "product",
]


def _rows(frame: pd.DataFrame, columns: list[str]) -> list:
    """The frame's rows as named tuples of plain values, reading only `columns`."""
    row = namedtuple("Row", columns)  # type: ignore[misc]
    return [row(*values) for values in zip(*(frame[c].tolist() for c in columns), strict=True)]


def _update_offers(conn, ids: list[int], values: dict) -> None:
    """Give the offers `ids` the same new values (and a new version), set-based."""
    o = Offer.__table__
    for chosen in among(conn, o.c.id, ids):
        conn.execute(update(o).where(chosen).values(version=o.c.version + 1, **values))


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of `now`'s ISO week: the contact cap counts calendar weeks, as proposals do."""
    day = now.astimezone(UTC) - timedelta(days=now.astimezone(UTC).weekday())
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def _contacted_this_week(conn, customers: list[str], *, now: datetime) -> pd.Series:
    """Offers already sent to each of `customers` since the start of `now`'s week."""
    if not customers:
        return pd.Series(dtype="int64")
    o = Offer.__table__
    counts: dict[str, int] = {}
    for chosen in among(conn, o.c.customer_id, customers):
        statement = (
            select(o.c.customer_id, func.count())
            .where(o.c.sent_at >= week_start(now), chosen)
            .group_by(o.c.customer_id)
        )
        counts.update({customer: count for customer, count in conn.execute(statement)})
    return pd.Series(counts, dtype="int64")


def dispatch(
    *,
    session: Session,
    engine: Engine,
    channel: Channel,
    actor: Actor,
    now: datetime,
    clock: Callable[[], datetime],
    max_age: timedelta,
    material_change: float,
    progress: Callable[[float, str], None] | None = None,
) -> DispatchSummary:
    """Re-check and send every due offer; offers' new states are written through `session`."""
    require(actor, Permission.RUN_JOBS)
    step = progress or (lambda _f, _m: None)
    with Session(engine) as reader:
        conn = reader.connection()
        due = due_offers(conn, now=now)
        contacted = _contacted_this_week(conn, due["customer_id"].unique().tolist(), now=now)
        cap = load_config(reader).contact_cap_per_week
        active = pauses.active_frame(reader, now=now)
        cover = inventory.sku_cover(reader, as_of=now.date(), now=now) if len(due) else None
    bad = sku_problems(cover) if cover is not None else {}
    decided = decide(
        due,
        now=now,
        max_age=max_age,
        material_change=material_change,
        active_pauses=active,
        bad_skus=bad,
        contacted=contacted,
        cap=cap,
    )
    step(0.2, f"{len(decided)} offer(s) due")
    summary = DispatchSummary()
    chosen = decided[decided["action"] == SEND]
    assert not chosen["holdout"].astype(bool).any()  # the query never selects them
    outgoing = _rows(chosen, MESSAGE_COLUMNS)
    messages = [message(row) for row in outgoing]
    results = (
        sends.deliver(engine, channel, messages, clock=clock, batch_size=SEND_BATCH)
        if messages
        else []
    )
    step(0.8, f"{len(messages)} handed to {channel.name}")

    sent_ids: list[int] = []
    for row, result in zip(outgoing, results, strict=True):
        if result.status == SENT or result.detail == f"already {SENT}":
            # The key is the offer's own (`message`), so the offers can be written by id.
            assert result.key == f"{sends.OFFER_KEY}{row.offer_id}"
            sent_ids.append(int(row.offer_id))
            if result.status == SENT:
                summary.sent += 1
            else:
                summary.already_sent += 1
        elif result.status == "failed":
            summary.failed += 1
            summary.first_problem = summary.first_problem or result.detail
        elif result.status == sends.DUPLICATE:
            summary.awaiting += 1
        else:
            summary.uncertain += 1
            summary.first_problem = summary.first_problem or result.detail
            log.warning("Offer %s: delivery uncertain (%s).", row.offer_id, result.detail)
    changed: dict[str, list[int]] = {}
    conn = session.connection()
    o = Offer.__table__
    _update_offers(
        conn,
        sent_ids,
        {
            "status": Status.SENT.value,
            "sent_at": now,
            "idempotency_key": literal(sends.OFFER_KEY) + cast(o.c.id, String),
            "updated_at": now,
        },
    )
    for action, status in ((EXPIRE, Status.EXPIRED), (SUPPRESS, Status.SUPPRESSED)):
        chosen = decided[decided["action"] == action]
        changed[status.value] = [int(i) for i in chosen["offer_id"].tolist()]
        # One statement per distinct reason, not per offer.
        for why, ids in chosen.groupby("why", sort=False, dropna=False)["offer_id"]:
            _update_offers(
                conn,
                [int(i) for i in ids.tolist()],
                {"status": status.value, "reason": why, "updated_at": now},
            )
    summary.expired = len(changed[Status.EXPIRED.value])
    summary.suppressed = len(changed[Status.SUPPRESSED.value])
    summary.held = int((decided["action"] == HOLD).sum())
    summary.reasons = decided.loc[decided["action"] != SEND, "why"].value_counts().to_dict()

    if summary.changes or summary.held or summary.failed or summary.uncertain or summary.awaiting:
        audit.record(
            session,
            actor=actor,
            action="offers.dispatch",
            entity_type="dispatch",
            entity_id=now.isoformat(timespec="seconds"),
            after={
                "channel": channel.name,
                "sent": sent_ids,
                "expired": changed[Status.EXPIRED.value],
                "suppressed": changed[Status.SUPPRESSED.value],
                "held": int(summary.held),
                "refused": int(summary.failed),
                "uncertain": int(summary.uncertain),
                "awaiting": int(summary.awaiting),
                "reasons": summary.reasons,
            },
            now=now,
        )
    log.info("Dispatch: %s.", summary.describe())
    return summary
