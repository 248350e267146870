"""People's decisions on proposals: approve, edit or reject a campaign; override one offer.

Each service checks the actor's role, checks the row's `version` against the one the person
saw (so that two people acting at once cannot overwrite each other silently), and writes the
audit event in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit, freshness
from core.campaigns import Campaign, Offer, Status
from core.db import begin_write
from core.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from core.manager_approval import may_approve, needs_manager
from core.roles import Actor, Permission, require
from core.tables import Product

REVIEWABLE = (Status.PROPOSED, Status.EDITED)
OFFER_REVIEWABLE = (Status.PROPOSED, Status.APPROVED, Status.EDITED, Status.OVERRIDDEN)


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise InvalidInput("Say why: a reason is required.")
    return reason.strip()


def _campaign(session: Session, campaign_id: int, expected_version: int | None) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign with id {campaign_id}.")
    session.refresh(campaign)
    if expected_version is not None and campaign.version != expected_version:
        raise StaleVersion(
            f"Campaign {campaign_id} was changed by {campaign.reviewed_by or 'the proposal job'} "
            "since you opened it; reload and try again."
        )
    return campaign


def _bump(session: Session, model, row, values: dict) -> None:
    """Update one row only if its version is still the one read; else StaleVersion."""
    table = model.__table__
    result = session.connection().execute(
        update(table)
        .where(table.c.id == row.id, table.c.version == row.version)
        .values(version=row.version + 1, **values)
    )
    if result.rowcount != 1:
        raise StaleVersion(f"{model.__name__} {row.id} changed meanwhile; reload and try again.")
    session.expire(row)


def _snapshot(campaign: Campaign) -> dict:
    keys = ("status", "version", "discount_pct", "audience_cap", "send_date", "audience_size")
    return {k: getattr(campaign, k) for k in keys}


def _set_offers(
    session: Session, campaign_id: int, status: Status, now: datetime, extra=None
) -> int:
    """Give the campaign's proposed offers `status` in one statement; returns how many."""
    table = Offer.__table__
    result = session.connection().execute(
        update(table)
        .where(table.c.campaign_id == campaign_id, table.c.status == Status.PROPOSED.value)
        .values(status=status.value, version=table.c.version + 1, updated_at=now, **(extra or {}))
    )
    return result.rowcount


def _decide(
    session: Session,
    campaign: Campaign,
    *,
    actor: Actor,
    action: str,
    status: Status,
    reason: str,
    now: datetime,
    before: dict,
    changes: dict | None = None,
    offers: Status | None = None,
    offer_values: dict | None = None,
) -> Campaign:
    """Write a person's decision on a campaign (version-checked) and its audit event."""
    values = {
        "status": status.value,
        "reviewed_by": actor.username,
        "reviewed_at": now,
        "review_reason": reason,
        "updated_at": now,
        **(changes or {}),
    }
    _bump(session, Campaign, campaign, values)
    after_offers = {}
    if offers is not None:
        # One event for the bulk change: the campaign and how many offers it moved; each
        # offer is found again by its campaign, its status and this event's time (updated_at).
        count = _set_offers(session, campaign.id, offers, now, offer_values)
        after_offers = {"offers": {"status": offers.value, "count": count}}
    session.refresh(campaign)
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="campaign",
        entity_id=campaign.id,
        before=before,
        after={**_snapshot(campaign), **after_offers},
        reason=reason,
        now=now,
    )
    return campaign


def approve(
    *,
    session: Session,
    campaign_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
    stock_max_age: timedelta | None = None,
) -> Campaign:
    """Approve a proposed or edited campaign and its proposed offers.

    With `stock_max_age`, a stock feed older than that blocks the approval (core.freshness).
    """
    require(actor, Permission.APPROVE_CAMPAIGNS)
    begin_write(session)
    reason = _reason(reason)
    campaign = _campaign(session, campaign_id, expected_version)
    if stock_max_age is not None:
        freshness.require_fresh(session, now=now, max_age=stock_max_age)
    if not may_approve(campaign, actor):
        why = needs_manager(campaign)[0]
        raise PermissionDenied(f"Campaign {campaign_id} needs a manager's approval: {why}.")
    if campaign.status not in REVIEWABLE:
        raise InvalidInput(
            f"Campaign {campaign_id} is {campaign.status}; only proposed or edited ones can be approved."
        )
    return _decide(
        session,
        campaign,
        actor=actor,
        action="campaign.approve",
        status=Status.APPROVED,
        reason=reason,
        now=now,
        before=_snapshot(campaign),
        offers=Status.APPROVED,
    )


def reject(
    *,
    session: Session,
    campaign_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Campaign:
    """Reject a proposed or edited campaign; its proposed offers are rejected with it."""
    require(actor, Permission.APPROVE_CAMPAIGNS)
    begin_write(session)
    reason = _reason(reason)
    campaign = _campaign(session, campaign_id, expected_version)
    if campaign.status not in REVIEWABLE:
        raise InvalidInput(
            f"Campaign {campaign_id} is {campaign.status}; only proposed or edited ones can be rejected."
        )
    return _decide(
        session,
        campaign,
        actor=actor,
        action="campaign.reject",
        status=Status.REJECTED,
        reason=reason,
        now=now,
        before=_snapshot(campaign),
        offers=Status.REJECTED,
        offer_values={"reason": f"campaign rejected: {reason}"},
    )


def edit(
    *,
    session: Session,
    campaign_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
    discount_pct: float | None = None,
    audience_cap: int | None = None,
    send_date: date | None = None,
) -> Campaign:
    """Change discount, audience cap or send date; the campaign then needs approving (again)."""
    require(actor, Permission.APPROVE_CAMPAIGNS)
    begin_write(session)
    reason = _reason(reason)
    campaign = _campaign(session, campaign_id, expected_version)
    if campaign.status not in (*REVIEWABLE, Status.APPROVED):
        raise InvalidInput(
            f"Campaign {campaign_id} is {campaign.status} and can no longer be edited."
        )
    if discount_pct is not None and not 0 <= discount_pct <= 90:
        raise InvalidInput("A discount is between 0 and 90 percent.")
    if audience_cap is not None and audience_cap < 0:
        raise InvalidInput("An audience cap cannot be negative.")
    if send_date is not None and send_date < now.date():
        raise InvalidInput(f"The send date {send_date} is in the past.")
    before = _snapshot(campaign)
    offers_t = Offer.__table__
    conn = session.connection()
    # Approved offers go back to proposed: an edit resets the approval.
    open_offers = offers_t.c.campaign_id == campaign_id
    conn.execute(
        update(offers_t)
        .where(open_offers, offers_t.c.status == Status.APPROVED.value)
        .values(status=Status.PROPOSED.value, version=offers_t.c.version + 1, updated_at=now)
    )
    proposed = open_offers & (offers_t.c.status == Status.PROPOSED.value)
    changes: dict = {}
    if discount_pct is not None:
        changes["discount_pct"] = discount_pct
        conn.execute(
            update(offers_t)
            .where(proposed, offers_t.c.sku.is_not(None))
            .values(discount_pct=discount_pct)
        )
    if send_date is not None:
        changes["send_date"] = send_date
        conn.execute(update(offers_t).where(proposed).values(send_date=send_date))
    if audience_cap is not None:
        changes["audience_cap"] = audience_cap
        treated = session.exec(
            select(Offer.id)
            .where(
                Offer.campaign_id == campaign_id,
                Offer.status == Status.PROPOSED,
                col(Offer.holdout).is_(False),
            )
            .order_by(col(Offer.expected_revenue) - col(Offer.expected_cost))
            .order_by(col(Offer.id))
        ).all()
        # Drop the least valuable treated offers beyond the cap.
        dropped = list(treated)[: max(len(treated) - audience_cap, 0)]
        if dropped:
            conn.execute(
                update(offers_t)
                .where(offers_t.c.id.in_(dropped))
                .values(
                    status=Status.SUPPRESSED.value,
                    reason=f"audience capped at {audience_cap} by {actor.username}",
                    version=offers_t.c.version + 1,
                    updated_at=now,
                )
            )
        changes["audience_size"] = min(len(treated), audience_cap)
    return _decide(
        session,
        campaign,
        actor=actor,
        action="campaign.edit",
        status=Status.EDITED,
        reason=reason,
        now=now,
        before=before,
        changes=changes,
    )


def override_offer(
    *,
    session: Session,
    offer_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
    discount_pct: float | None = None,
    sku: str | None = None,
    exclude: bool = False,
) -> Offer:
    """Change one customer's offer (discount or SKU), or exclude the customer; kept on reruns."""
    require(actor, Permission.OVERRIDE_OFFERS)
    begin_write(session)
    reason = _reason(reason)
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound(f"No offer with id {offer_id}.")
    session.refresh(offer)
    if expected_version is not None and offer.version != expected_version:
        raise StaleVersion(f"Offer {offer_id} was changed meanwhile; reload and try again.")
    if offer.status not in OFFER_REVIEWABLE:
        raise InvalidInput(f"Offer {offer_id} is {offer.status} and can no longer be changed.")
    if offer.holdout and not exclude:
        raise InvalidInput("This customer is in the holdout group and is never contacted.")
    if discount_pct is not None and not 0 <= discount_pct <= 90:
        raise InvalidInput("A discount is between 0 and 90 percent.")
    if sku is not None and session.get(Product, sku) is None:
        raise NotFound(f"There is no SKU {sku!r}.")
    keys = ("status", "version", "sku", "discount_pct")
    before = {k: getattr(offer, k) for k in keys}
    values: dict = {
        "reviewed_by": actor.username,
        "reviewed_at": now,
        "review_reason": reason,
        "updated_at": now,
    }
    if exclude:
        values["status"] = Status.REJECTED.value
        values["reason"] = f"excluded by {actor.username}: {reason}"
    else:
        values["status"] = Status.OVERRIDDEN.value
        if discount_pct is not None:
            values["discount_pct"] = discount_pct
        if sku is not None:
            values["original_sku"] = offer.original_sku or offer.sku
            values["sku"] = sku
    _bump(session, Offer, offer, values)
    session.refresh(offer)
    audit.record(
        session,
        actor=actor,
        action="offer.override",
        entity_type="offer",
        entity_id=offer_id,
        before=before,
        after={k: getattr(offer, k) for k in keys},
        reason=reason,
        now=now,
    )
    return offer
