from datetime import timedelta

import pytest
from sqlmodel import select

from core import pauses
from core.audit import AuditEvent
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.roles import Actor, Role
from tests.proposal_factories import add_catalogue, add_customers


@pytest.fixture
def shop(session):
    add_catalogue(session)
    add_customers(session)
    session.commit()
    return session


def test_pause_sku_is_active_and_audited(shop, support, now):
    row = pauses.pause(
        session=shop, actor=support, scope="sku", target="A1", reason="supplier delay", now=now
    )
    shop.commit()
    assert [p.id for p in pauses.active(shop, now=now)] == [row.id]
    event = shop.exec(select(AuditEvent).where(AuditEvent.action == "pause.create")).one()
    assert (
        event.actor == "sam" and event.entity_id == str(row.id) and event.reason == "supplier delay"
    )


def test_pause_with_end_date_expires(shop, support, now):
    pauses.pause(
        session=shop,
        actor=support,
        scope="supplier",
        target="S1",
        reason="strike",
        now=now,
        ends_at=now + timedelta(days=3),
    )
    assert len(pauses.active(shop, now=now + timedelta(days=2))) == 1
    assert pauses.active(shop, now=now + timedelta(days=3)) == []


def test_pause_that_starts_later_is_not_yet_active(shop, support, now):
    pauses.pause(
        session=shop,
        actor=support,
        scope="category",
        target="paint",
        reason="recall",
        now=now,
        starts_at=now + timedelta(days=1),
    )
    assert pauses.active(shop, now=now) == []
    assert len(pauses.active(shop, now=now + timedelta(days=1))) == 1


def test_pause_everything_needs_no_target(shop, support, now):
    row = pauses.pause(
        session=shop, actor=support, scope="all", target=None, reason="audit", now=now
    )
    assert row.target == pauses.ALL_TARGET
    assert "everything" in row.describe()


def test_lift_ends_the_pause_and_is_audited(shop, support, planner, now):
    row = pauses.pause(
        session=shop, actor=support, scope="customer", target="c1", reason="complaint open", now=now
    )
    pauses.lift(
        session=shop,
        actor=planner,
        pause_id=row.id,
        reason="resolved",
        now=now + timedelta(hours=1),
    )
    shop.commit()
    assert pauses.active(shop, now=now + timedelta(hours=2)) == []
    assert len(pauses.active(shop, now=now + timedelta(minutes=30))) == 1
    event = shop.exec(select(AuditEvent).where(AuditEvent.action == "pause.lift")).one()
    assert event.actor == "pat" and '"lifted_at":null' in event.before


def test_lifting_twice_is_refused(shop, support, now):
    row = pauses.pause(session=shop, actor=support, scope="sku", target="A1", reason="x", now=now)
    pauses.lift(session=shop, actor=support, pause_id=row.id, reason="ok", now=now)
    with pytest.raises(InvalidInput):
        pauses.lift(session=shop, actor=support, pause_id=row.id, reason="ok", now=now)


def test_pause_needs_the_permission(shop, now):
    outsider = Actor("olive", Role.SYSTEM)
    viewer = Actor("val", "viewer")  # a role without any permission
    pauses.pause(session=shop, actor=outsider, scope="sku", target="A1", reason="watch", now=now)
    with pytest.raises(PermissionDenied):
        pauses.pause(session=shop, actor=viewer, scope="sku", target="A1", reason="x", now=now)


def test_pause_of_unknown_sku_is_refused(shop, support, now):
    with pytest.raises(NotFound, match="no sku 'ZZ'"):
        pauses.pause(session=shop, actor=support, scope="sku", target="ZZ", reason="x", now=now)


@pytest.mark.parametrize(
    ("scope", "target", "reason", "message"),
    [
        ("shelf", "A1", "x", "Unknown pause scope"),
        ("sku", "A1", " ", "needs a reason"),
        ("sku", "", "x", "Say which sku"),
    ],
)
def test_bad_pause_input_is_refused(shop, support, now, scope, target, reason, message):
    with pytest.raises(InvalidInput, match=message):
        pauses.pause(
            session=shop, actor=support, scope=scope, target=target, reason=reason, now=now
        )


def test_pause_must_end_after_it_starts(shop, support, now):
    with pytest.raises(InvalidInput, match="end after"):
        pauses.pause(
            session=shop, actor=support, scope="sku", target="A1", reason="x", now=now, ends_at=now
        )


def test_active_frame_lists_scope_and_target(shop, support, now):
    pauses.pause(session=shop, actor=support, scope="sku", target="A1", reason="late", now=now)
    frame = pauses.active_frame(shop, now=now)
    assert frame[["scope", "target", "reason"]].to_dict("records") == [
        {"scope": "sku", "target": "A1", "reason": "late"}
    ]
