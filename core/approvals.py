"""Console decisions built on core.campaign_reviews: excluding several customers at once, and
moving a customer to another campaign."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from core import audit, campaign_reviews
from core.campaigns import Campaign, Offer, Status
from core.db import begin_write
from core.errors import InvalidInput, NotFound, StaleVersion
from core.roles import Actor, Permission, require


def exclude_offers(
    *, session: Session, versions: dict[int, int], actor: Actor, reason: str, now: datetime
) -> int:
    """Exclude several customers' offers with one reason, all or nothing (one audit event each).

    `versions` maps offer id to the version the person saw.
    """
    require(actor, Permission.OVERRIDE_OFFERS)
    begin_write(session)
    if not versions:
        raise InvalidInput("Select at least one customer with an offer.")
    for offer_id, version in sorted(versions.items()):
        campaign_reviews.override_offer(
            session=session,
            offer_id=offer_id,
            actor=actor,
            reason=reason,
            now=now,
            expected_version=version,
            exclude=True,
        )
    return len(versions)


def move_offer(
    *,
    session: Session,
    offer_id: int,
    campaign_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Offer:
    """Give a customer the offer of another campaign of the same week instead of this one."""
    require(actor, Permission.OVERRIDE_OFFERS)
    begin_write(session)
    offer = session.get(Offer, offer_id)
    target = session.get(Campaign, campaign_id)
    if offer is None or target is None:
        raise NotFound(f"No offer {offer_id} or no campaign {campaign_id}.")
    session.refresh(offer)
    if expected_version is not None and offer.version != expected_version:
        raise StaleVersion(f"Offer {offer_id} was changed meanwhile; reload and try again.")
    if target.week != offer.week or target.id == offer.campaign_id:
        raise InvalidInput("Choose another campaign of the same week.")
    if target.status not in (Status.PROPOSED, Status.EDITED, Status.APPROVED):
        raise InvalidInput(f"The {target.campaign_type} campaign is {target.status}.")
    existing = session.exec(
        select(Offer).where(
            Offer.campaign_id == campaign_id, Offer.customer_id == offer.customer_id
        )
    ).first()
    if existing is not None and existing.status != Status.SUPPRESSED:
        raise InvalidInput(
            f"Customer {offer.customer_id} already has a {existing.status} offer in that campaign."
        )
    campaign_reviews.override_offer(
        session=session,
        offer_id=offer_id,
        actor=actor,
        reason=f"moved to {target.campaign_type}: {reason}",
        now=now,
        expected_version=expected_version,
        exclude=True,
    )
    if existing is not None:
        session.delete(existing)  # the suppression record gives way to the person's choice
        session.flush()
    moved = Offer(
        campaign_id=campaign_id,
        week=target.week,
        campaign_type=target.campaign_type,
        customer_id=offer.customer_id,
        status=Status.OVERRIDDEN,
        sku=offer.sku,
        discount_pct=target.discount_pct if offer.sku else 0.0,
        channel=offer.channel,
        send_date=target.send_date,
        why_customer=offer.why_customer,
        why_offer=f"moved from {offer.campaign_type} by {actor.username}: {reason.strip()}",
        why_sku=offer.why_sku,
        context=offer.context,
        proposed_at=now,
        updated_at=now,
        reviewed_by=actor.username,
        reviewed_at=now,
        review_reason=reason.strip(),
    )
    session.add(moved)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="offer.move",
        entity_type="offer",
        entity_id=moved.id,
        before={"offer_id": offer_id, "campaign_type": offer.campaign_type},
        after={"offer_id": moved.id, "campaign_type": target.campaign_type, "sku": moved.sku},
        reason=reason.strip(),
        now=now,
    )
    return moved
