"""Approving a campaign rewrites its offers without touching an index (PostgreSQL HOT updates),
and what the status index used to find is still found, the same."""

from __future__ import annotations

from sqlalchemy import Column, func, select, text
from sqlalchemy.sql import visitors
from sqlmodel import select as sql_select

from core import audit_views, campaign_reviews, schema
from core.campaigns import Offer, Status
from core.results import NOT_SUPPRESSED
from tests import test_proposals
from tests.test_campaign_reviews import _campaign
from tests.test_proposals import _propose

shop = test_proposals.shop

# What a campaign's approval sets on each of its offers.
APPROVAL_SETS = {"status", "version", "updated_at"}


def _columns(element) -> set[str]:
    return {c.name for c in visitors.iterate(element) if isinstance(c, Column)}


def test_no_index_of_the_offers_holds_a_column_an_approval_sets():
    offers = schema.metadata.tables["offers"]
    held = {}
    for index in offers.indexes:
        names = {c.name for c in index.columns} | set().union(
            *(_columns(e) for e in index.expressions if not isinstance(e, str))
        )
        for dialect in ("postgresql", "sqlite"):
            where = index.dialect_options[dialect]._non_defaults.get("where")
            if where is not None:
                names |= _columns(where)
        held[index.name] = names
    for constraint in offers.constraints:
        held[constraint.name or type(constraint).__name__] = {c.name for c in constraint.columns}
    assert {name: cols & APPROVAL_SETS for name, cols in held.items() if cols & APPROVAL_SETS} == {}


def _flags(session) -> list[tuple[str, bool]]:
    session.expire_all()
    return [(o.status, o.suppressed) for o in session.exec(sql_select(Offer))]


def _suppress_another_campaign(session, now, planner, keep) -> None:
    """Cap another campaign's audience at 0: its treated offers become suppression records."""
    other = session.exec(
        sql_select(Offer.campaign_id).where(
            Offer.campaign_id != keep, Offer.status == Status.PROPOSED, Offer.holdout.is_(False)
        )
    ).first()
    campaign_reviews.edit(
        session=session, campaign_id=other, actor=planner, reason="fewer", now=now, audience_cap=0
    )
    session.commit()


def test_the_suppressed_flag_follows_the_status(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    _suppress_another_campaign(shop, now, planner, keep=campaign.id)
    campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=planner, reason="fine", now=now
    )
    shop.commit()
    flags = _flags(shop)
    assert {status for status, _ in flags} >= {Status.SUPPRESSED, Status.APPROVED}
    assert all(flag is (status == Status.SUPPRESSED) for status, flag in flags)


def test_approval_rewrites_the_offers_in_place_on_postgresql(shop, now, planner):
    if shop.get_bind().dialect.name != "postgresql":
        return  # SQLite rewrites a row where it is whatever is indexed
    _propose(shop, now)
    campaign = _campaign(shop)
    proposed = shop.exec(
        select(func.count())
        .select_from(Offer)
        .where(Offer.campaign_id == campaign.id, Offer.status == Status.PROPOSED)
    ).one()[0]
    shop.commit()
    # The counts grow by this transaction's own updates. They also hold the connection's
    # earlier transactions that the server has not reported yet (PostgreSQL 15 and newer),
    # so only the difference within this transaction counts.
    before = _updates(shop)
    campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=planner, reason="fine", now=now
    )
    after = _updates(shop)
    updated, in_place = after[0] - before[0], after[1] - before[1]
    shop.commit()
    assert proposed > 0 and updated == proposed and in_place == proposed


def _updates(session) -> tuple[int, int]:
    """The offers' updates and in-place (HOT) updates the server counts for this connection."""
    return tuple(
        session.connection()
        .execute(
            text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'offers'"
            )
        )
        .one()
    )


def test_the_override_scorecard_counts_the_offers_made_as_the_status_says(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    offer = shop.exec(
        sql_select(Offer).where(Offer.campaign_id == campaign.id, Offer.status == Status.PROPOSED)
    ).first()
    campaign_reviews.override_offer(
        session=shop, offer_id=offer.id, actor=planner, reason="no", now=now, exclude=True
    )
    shop.commit()
    _suppress_another_campaign(shop, now, planner, keep=campaign.id)
    campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=planner, reason="fine", now=now
    )
    shop.commit()
    card = audit_views.override_scorecard(shop)
    treated = (Offer.status.in_(NOT_SUPPRESSED), Offer.holdout.is_(False))
    made = shop.exec(select(func.count()).select_from(Offer).where(*treated)).one()[0]
    suppressed = shop.exec(
        select(func.count()).select_from(Offer).where(Offer.status == Status.SUPPRESSED)
    ).one()[0]
    assert card.proposals == made and card.changed == 1 and suppressed > 0
