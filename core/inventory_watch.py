"""The inventory watch: pause open offers on SKUs and suppliers that turned bad, lift when they recover.

A SKU is bad when it is out of stock or its days of cover are fewer than its supplier's lead
time (core.inventory.sku_cover); a supplier is bad when its status is not `ok`. Offers that are
still open (proposed, approved or overridden, not sent, not holdout) and feature a bad SKU or
supplier get an automatic pause, created and audited as the system with the reason. The watch
lifts only its own pauses (`automatic`), and only once the SKU or supplier has recovered; a
pause a person set is never touched, and an automatic pause a person lifted is not set again
for a week, so that a deliberate decision is not undone an hour later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from core import inventory, pauses
from core.campaigns import Campaign, Offer, Status
from core.pauses import Pause, PauseScope
from core.roles import Actor, Permission, require
from core.tables import Product

log = logging.getLogger(__name__)

# Offers that may still go out: what the watch holds back.
OPEN_STATUSES = (Status.PROPOSED.value, Status.APPROVED.value, Status.OVERRIDDEN.value)
OPEN_CAMPAIGNS = (Status.PROPOSED.value, Status.EDITED.value, Status.APPROVED.value)
PERSON_LIFT_RESPECTED = timedelta(days=7)
REASON_PREFIX = "Inventory watch: "


@dataclass
class WatchSummary:
    paused: list[Pause] = field(default_factory=list)
    lifted: list[Pause] = field(default_factory=list)
    held_offers: int = 0

    @property
    def changes(self) -> int:
        return len(self.paused) + len(self.lifted)

    def describe(self) -> str:
        return (
            f"{len(self.paused)} pause(s) set holding {self.held_offers} offer(s), "
            f"{len(self.lifted)} lifted"
        )


def sku_problems(cover: pd.DataFrame) -> dict[str, str]:
    """SKU -> why it is bad: out of stock, or cover shorter than the lead time."""
    problems: dict[str, str] = {}
    for row in cover.itertuples(index=False):  # the catalogue: thousands of rows at most
        if row.on_hand <= 0:
            problems[row.sku] = f"SKU {row.sku} is out of stock"
        elif bool(row.short):
            problems[row.sku] = (
                f"SKU {row.sku} has {row.days_of_cover:.1f} days of cover, fewer than its "
                f"supplier's {row.lead_time_days}-day lead time ({row.on_hand} on hand)"
            )
    return problems


def supplier_problems(cover: pd.DataFrame) -> dict[str, str]:
    """Supplier -> why it is bad: any status other than ok."""
    bad = cover.loc[cover["supplier_status"].fillna("ok") != "ok"].drop_duplicates("supplier_id")
    return {
        row.supplier_id: f"supplier {row.supplier} ({row.supplier_id}) is {row.supplier_status}"
        for row in bad.itertuples(index=False)
    }


def open_offers(session: Session) -> pd.DataFrame:
    """Open treated offers with their SKU, supplier and category (one row each)."""
    o, c, p = Offer.__table__, Campaign.__table__, Product.__table__
    statement = (
        select(o.c.id, o.c.sku, p.c.supplier_id, p.c.category)
        .select_from(o.join(c, c.c.id == o.c.campaign_id).join(p, p.c.sku == o.c.sku))
        .where(
            o.c.status.in_(OPEN_STATUSES),
            c.c.status.in_(OPEN_CAMPAIGNS),
            o.c.sent_at.is_(None),
            # Implied by the status; lets ix_offers_suppressed_holdout find the offers.
            o.c.suppressed.is_(False),
            o.c.holdout.is_(False),
        )
    )
    return pd.read_sql(statement, session.connection())


def _covered(active: list[Pause], scope: str, target: str, *, supplier=None, category=None):
    for pause in active:
        if pause.scope == PauseScope.ALL:
            return True
        if (pause.scope, pause.target) in {
            (scope, target),
            (PauseScope.SUPPLIER.value, supplier),
            (PauseScope.CATEGORY.value, category),
        }:
            return True
    return False


def _lifted_by_person(session: Session, *, now: datetime) -> set[tuple[str, str]]:
    """(scope, target) of automatic pauses a person lifted recently: not to be set again yet."""
    rows = session.exec(
        select(Pause.scope, Pause.target).where(
            col(Pause.automatic).is_(True),
            col(Pause.lifted_at) >= now - PERSON_LIFT_RESPECTED,
            col(Pause.lifted_by) != "system",
        )
    )
    return {(scope, target) for scope, target in rows}


def watch(*, session: Session, actor: Actor, now: datetime) -> WatchSummary:
    """Lift the watch's pauses whose cause has cleared, then pause open offers on bad stock."""
    require(actor, Permission.PAUSE_OFFERS)
    cover = inventory.sku_cover(session, as_of=now.date(), now=now)
    bad_skus, bad_suppliers = sku_problems(cover), supplier_problems(cover)
    summary = WatchSummary()

    for pause in pauses.active(session, now=now):
        if not pause.automatic or pause.created_by != "system":
            continue
        if pause.scope == PauseScope.SKU and pause.target not in bad_skus:
            why = f"stock of {pause.target} recovered"
        elif pause.scope == PauseScope.SUPPLIER and pause.target not in bad_suppliers:
            why = f"supplier {pause.target} is ok again"
        else:
            continue
        lifted = pauses.lift(
            session=session, actor=actor, pause_id=pause.id, reason=REASON_PREFIX + why, now=now
        )
        summary.lifted.append(lifted)

    offers = open_offers(session)
    if offers.empty:
        return summary
    active = pauses.active(session, now=now)
    respected = _lifted_by_person(session, now=now)
    per_supplier = offers.groupby("supplier_id").size()
    for supplier, reason in sorted(bad_suppliers.items()):
        key = (PauseScope.SUPPLIER.value, supplier)
        if supplier not in per_supplier.index or key in respected:
            continue
        if _covered(active, *key):
            continue
        held = int(per_supplier[supplier])
        active.append(_pause(session, actor, key, reason, held, now))
        summary.paused.append(active[-1])
        summary.held_offers += held
    per_sku = offers.groupby(["sku", "supplier_id", "category"]).size()
    for (sku, supplier, category), held in per_sku.items():
        key = (PauseScope.SKU.value, sku)
        if sku not in bad_skus or key in respected:
            continue
        if _covered(active, *key, supplier=supplier, category=category):
            continue
        active.append(_pause(session, actor, key, bad_skus[sku], int(held), now))
        summary.paused.append(active[-1])
        summary.held_offers += int(held)
    log.info("Inventory watch: %s.", summary.describe())
    return summary


def _pause(session, actor, key, reason: str, held: int, now: datetime) -> Pause:
    scope, target = key
    return pauses.pause(
        session=session,
        actor=actor,
        scope=scope,
        target=target,
        reason=f"{REASON_PREFIX}{reason}; holds {held} open offer(s).",
        now=now,
        automatic=True,
    )
