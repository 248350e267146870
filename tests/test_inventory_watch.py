"""Inventory watch: open offers on bad stock or suppliers are paused by the system, then lifted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from core import inventory_watch, pauses
from core.audit import AuditEvent
from core.pauses import Pause
from core.roles import SYSTEM
from core.tables import StockLevel, Supplier
from tests import loop_factories as f


def _world(engine, **stock):
    f.catalogue(engine, stock=stock)
    f.customers(engine, "c1", "c2", "c3")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1", sku="PAINT-1")
    f.offer(engine, 1, "c2", sku="YARN-1")
    f.offer(engine, 1, "c3", sku="PAINT-1", holdout=True)


def _watch(engine, now):
    with Session(engine, expire_on_commit=False) as session:
        summary = inventory_watch.watch(session=session, actor=SYSTEM, now=now)
        session.commit()
    return summary


def _active(engine, now):
    with Session(engine) as session:
        return [(p.scope, p.target, p.automatic) for p in pauses.active(session, now=now)]


def _set(engine, model, key, **values):
    column = model.sku if model is StockLevel else model.supplier_id
    with engine.begin() as conn:
        conn.execute(update(model).where(column == key).values(**values))


def test_an_out_of_stock_sku_with_open_offers_is_paused_by_the_system(engine, now):
    _world(engine, **{"PAINT-1": 0})
    summary = _watch(engine, now)
    assert _active(engine, now) == [("sku", "PAINT-1", True)]
    assert summary.held_offers == 1  # the holdout offer is never sent anyway
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "pause.create"))
    assert event.actor == "system"
    assert "PAINT-1 is out of stock" in event.reason


def test_a_delayed_supplier_is_paused_and_lifted_when_it_recovers(engine, now):
    _world(engine)
    _set(engine, Supplier, "S2", status="delayed")
    _watch(engine, now)
    assert _active(engine, now) == [("supplier", "S2", True)]
    _set(engine, Supplier, "S2", status="ok")
    later = now + timedelta(hours=1)
    summary = _watch(engine, later)
    assert len(summary.lifted) == 1 and _active(engine, later) == []


def test_pause_and_lift_cycle_follows_the_stock(engine, now):
    _world(engine, **{"PAINT-1": 0})
    _watch(engine, now)
    assert _watch(engine, now + timedelta(minutes=5)).changes == 0  # nothing twice
    _set(engine, StockLevel, "PAINT-1", on_hand=60)
    later = now + timedelta(hours=1)
    summary = _watch(engine, later)
    assert [p.target for p in summary.lifted] == ["PAINT-1"]
    assert "recovered" in summary.lifted[0].lift_reason
    assert _active(engine, later) == []


def test_a_pause_a_person_set_is_never_lifted_by_the_watch(engine, now, support):
    _world(engine)
    with Session(engine) as session:
        pauses.pause(
            session=session, actor=support, scope="sku", target="PAINT-1", reason="recall", now=now
        )
        session.commit()
    assert _watch(engine, now + timedelta(hours=1)).changes == 0
    assert _active(engine, now + timedelta(hours=1)) == [("sku", "PAINT-1", False)]


def test_a_person_lifting_an_automatic_pause_is_respected(engine, now, support):
    _world(engine, **{"PAINT-1": 0})
    _watch(engine, now)
    with Session(engine) as session:
        [row] = session.exec(select(Pause))
        pauses.lift(
            session=session,
            actor=support,
            pause_id=row.id,
            reason="sell what's left",
            now=now + timedelta(minutes=1),
        )
        session.commit()
    assert _watch(engine, now + timedelta(hours=1)).changes == 0


def test_bad_stock_without_open_offers_sets_no_pause(engine, now):
    f.catalogue(engine, stock={"PAINT-1": 0})
    assert _watch(engine, now).changes == 0
