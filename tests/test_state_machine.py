"""Random sequences of what people and jobs do to a small marketplace, with the promises that
must hold after every step: nothing is sent for a paused or short SKU or to the holdout, the
contact cap holds, each change has exactly one audit event, the audit chain verifies, and a
refused action (role without the permission, or a stale version) changed nothing."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import event, func, select, text
from sqlmodel import Session

from core import (
    audit,
    campaign_config,
    campaign_reviews,
    dispatch,
    inventory,
    model_store,
    pauses,
)
from core.campaigns import Campaign, Offer
from core.channels import SENT, Result
from core.db import is_sqlite
from core.errors import EaselError, PermissionDenied, StaleVersion
from core.importing import import_file
from core.inventory_watch import sku_problems
from core.job_runner import run_job
from core.roles import LOGIN_ROLES, SYSTEM, Actor, Permission
from core.schema import metadata
from core.tables import Product, StockLevel
from core.training import train
from jobs import registry
from tests.churn_data import END, generate
from tests.proposal_factories import add_catalogue, add_customers, add_order

PROPOSE_DAY = datetime(2026, 6, 14, 5, 0, tzinfo=UTC)  # proposes week 25, sent from 15 June
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
CUSTOMERS = tuple(f"c{n:02d}" for n in range(16))
SKUS = ("A1", "A2", "C1", "B1")
WATCHED = ("campaigns", "offers", "pauses", "audit_events", "stock_levels", "customer_scores")
JOB_TABLES = {"job_runs", "job_locks", "sends"}  # what a failed run may still touch
PEOPLE = [Actor(f"{role.value}-1", role) for role in LOGIN_ROLES]
# Planners and managers decide most of the week's work; the others mostly get refused.
ANYONE = st.sampled_from([*PEOPLE, PEOPLE[0], PEOPLE[2]])
HEAVY_STEPS = 3  # scoring, proposal and crash runs per example beyond the first week's (time)


@pytest.fixture(scope="module")
def trained():
    """A small model trained once; each example stores it as the active version."""
    return train(generate(600, seed=21), as_of=END, seed=1, nthread=1)


class RecordingChannel:
    name = "recording"

    def __init__(self):
        self.keys: list[str] = []

    def send(self, messages):
        self.keys += [m.key for m in messages]
        return [Result(m.key, SENT, "ok") for m in messages]


def wipe(engine) -> None:
    tables = [t.name for t in metadata.sorted_tables]
    with engine.begin() as conn:
        if is_sqlite(engine):
            for name in reversed(tables):
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            names = ", ".join(f'"{n}"' for n in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def build_shop(engine, trained) -> None:
    with Session(engine) as session:
        add_catalogue(session)
        add_customers(session, ids=CUSTOMERS)
        for n, customer in enumerate(CUSTOMERS):
            day = PROPOSE_DAY.date() - timedelta(days=20 + 15 * n)
            sku = SKUS[n % len(SKUS)]
            add_order(session, f"o{n}a", customer, day - timedelta(days=60), [(sku, 1, 20.0)])
            late = {"promised": day + timedelta(days=3), "delivered": day + timedelta(days=9)}
            add_order(
                session, f"o{n}b", customer, day, [(sku, 1, 20.0)], **(late if n % 5 == 0 else {})
            )
        model_store.save_version(session, actor=SYSTEM, result=trained, as_of=END, now=NOW)
        # A larger control group than the default, so that a small shop has one in most campaigns.
        campaign_config.update_config(
            session=session,
            actor=PEOPLE[-1],
            changes={"holdout_share": 0.3},
            reason="small test shop",
            now=NOW,
        )
        session.commit()


def snapshot(engine, names=WATCHED) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(select(metadata.tables[name]))),
            )
            for name in names
        }


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()[0]


class Marketplace(RuleBasedStateMachine):
    """One example: a fresh shop, then random steps by random people and jobs."""

    engine = None
    trained = None
    channel: RecordingChannel
    tmp = None

    def __init__(self):
        super().__init__()
        wipe(self.engine)
        build_shop(self.engine, self.trained)
        self.channel.keys.clear()
        self.minute = 0
        self.heavy = 0

    # --- helpers ---------------------------------------------------------------------------

    def _slot(self, base: datetime) -> datetime:
        """A slot of its own for each run (a slot that ran is never run again)."""
        self.minute += 1
        return base + timedelta(minutes=self.minute, microseconds=self.minute)

    def _ids(self, model) -> list[int]:
        with Session(self.engine) as session:
            return list(session.exec(select(model.id).order_by(model.id)).scalars())

    def _attempt(self, permission: Permission, actor: Actor, call, *, stale: bool, action: str):
        """Run a person's service call in a unit of work and check what it may have changed."""
        before = snapshot(self.engine)
        events = count(self.engine, audit.AuditEvent)
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                call(session)
                session.commit()
        except EaselError as error:
            if not actor.can(permission):
                assert isinstance(error, PermissionDenied)
            elif stale:
                assert isinstance(error, StaleVersion)
            note(f"{action} refused: {type(error).__name__}")
            assert snapshot(self.engine) == before, f"a refused {action} changed something"
            return False
        assert actor.can(permission), f"{actor.role} could {action}"
        assert not stale, f"a stale {action} went through"
        assert count(self.engine, audit.AuditEvent) == events + 1
        with Session(self.engine) as session:
            last = session.exec(
                select(audit.AuditEvent.action).order_by(audit.AuditEvent.id.desc())
            ).first()
        assert last[0] == action
        note(f"{action} done")
        return True

    def _version(self, model, row_id: int) -> int:
        with Session(self.engine) as session:
            return session.get(model, row_id).version

    def _job(self, name: str, at: datetime):
        return registry.run(self.engine, name, slot=at, actor=SYSTEM, clock=lambda: at)

    # --- jobs ------------------------------------------------------------------------------

    @initialize()
    def a_proposed_week(self):
        """Each example starts from scored customers and the week's proposed campaigns."""
        self.score()
        self.propose()
        self.heavy = 0

    def _light(self) -> bool:
        return self.heavy < HEAVY_STEPS

    @precondition(_light)
    @rule()
    def score(self):
        self.heavy += 1
        at = self._slot(PROPOSE_DAY - timedelta(hours=3))
        events = count(self.engine, audit.AuditEvent)
        outcome = self._job("nightly_scoring", at)
        assert outcome.status == "succeeded", outcome.error
        assert count(self.engine, audit.AuditEvent) == events + 1  # scores.write

    @precondition(_light)
    @rule()
    def propose(self):
        self.heavy += 1
        events = count(self.engine, audit.AuditEvent)
        outcome = self._job("weekly_proposals", self._slot(PROPOSE_DAY))
        assert outcome.status == "succeeded", outcome.error
        assert count(self.engine, audit.AuditEvent) == events + 1  # campaigns.propose

    @rule()
    def watch(self):
        before = Counter(self._audit_actions())
        pauses_before = count(self.engine, pauses.Pause)
        outcome = self._job("inventory_watch", self._slot(NOW))
        assert outcome.status == "succeeded", outcome.error
        added = Counter(self._audit_actions()) - before
        assert set(added) <= {"pause.create", "pause.lift"}
        assert added["pause.create"] == count(self.engine, pauses.Pause) - pauses_before

    @rule(minutes=st.integers(0, 60 * 24 * 3))
    def dispatch(self, minutes):
        slot = self._slot(NOW + timedelta(minutes=minutes))
        held_back = self._not_sendable(slot)
        sent_before = set(self._sent_ids())
        keys_before = len(self.channel.keys)
        events = count(self.engine, audit.AuditEvent)
        outcome = self._job("dispatch", slot)
        assert outcome.status == "succeeded", outcome.error
        newly = set(self._sent_ids()) - sent_before
        note(f"dispatch sent {'some' if newly else 'none'}; held back {len(held_back) > 0}")
        assert not newly & held_back, "an offer for a paused or short SKU was sent"
        handed = {int(k.removeprefix("offer:")) for k in self.channel.keys[keys_before:]}
        # Handed over now, or by an earlier run that crashed before it could mark them sent.
        assert handed <= newly <= {int(k.removeprefix("offer:")) for k in self.channel.keys}
        added = count(self.engine, audit.AuditEvent) - events
        assert added == 1 if outcome.rows else added in (0, 1)  # held offers are noted too

    @precondition(_light)
    @rule(job=st.sampled_from(["dispatch", "weekly_proposals", "inventory_watch"]), when=st.data())
    def crash(self, job, when):
        """The job fails part-way (a write statement raises) or after all its work."""
        self.heavy += 1
        spec = registry.get(job)
        at = self._slot(PROPOSE_DAY if job == "weekly_proposals" else NOW)
        fail_at = when.draw(st.one_of(st.none(), st.integers(1, 6)), label="fail at write")
        state = {"writes": 0, "armed": False}

        def count_writes(conn, cursor, statement, parameters, context, executemany):
            verb = statement.lstrip()[:6].upper()
            if state["armed"] and verb in ("INSERT", "UPDATE", "DELETE"):
                state["writes"] += 1
                if fail_at is not None and state["writes"] == fail_at:
                    raise RuntimeError("injected: the job died mid-run")

        def crashing(context):
            state["armed"] = True
            try:
                spec.run(context)
            finally:
                state["armed"] = False
            raise RuntimeError("injected: the job died after its work")

        keep = [n for n in (t.name for t in metadata.sorted_tables) if n not in JOB_TABLES]
        before = snapshot(self.engine, keep)
        held_back, keys_before = self._not_sendable(at), len(self.channel.keys)
        event.listen(self.engine, "before_cursor_execute", count_writes)
        try:
            outcome = run_job(
                self.engine,
                job=job,
                func=crashing,
                slot=at,
                actor=SYSTEM,
                clock=lambda: at,
                hold_write_lock=spec.hold_write_lock,
            )
        finally:
            event.remove(self.engine, "before_cursor_execute", count_writes)
        assert outcome.status == "failed" and "injected" in outcome.error
        assert snapshot(self.engine, keep) == before, f"a failed {job} run left changes"
        handed = {int(k.removeprefix("offer:")) for k in self.channel.keys[keys_before:]}
        assert not handed & held_back, "a crashed dispatch sent a paused or short SKU's offer"

    # --- people ----------------------------------------------------------------------------

    @rule(
        who=ANYONE,
        pick=st.integers(0, 50),
        decision=st.sampled_from(["approve", "approve", "edit", "reject"]),
        stale=st.booleans(),
        discount=st.sampled_from([0.0, 5.0, 15.0]),
    )
    def decide(self, who, pick, decision, stale, discount):
        ids = self._ids(Campaign)
        if not ids:
            return
        campaign_id = ids[pick % len(ids)]
        version = self._version(Campaign, campaign_id)
        stale = stale and version > 1
        seen = version - 1 if stale else version

        def call(session):
            common = {
                "session": session,
                "campaign_id": campaign_id,
                "actor": who,
                "now": NOW,
                "reason": f"{decision} by {who.username}",
                "expected_version": seen,
            }
            if decision == "approve":
                campaign_reviews.approve(**common)
            elif decision == "reject":
                campaign_reviews.reject(**common)
            else:
                campaign_reviews.edit(discount_pct=discount, **common)

        self._attempt(
            Permission.APPROVE_CAMPAIGNS, who, call, stale=stale, action=f"campaign.{decision}"
        )

    @rule(
        who=ANYONE,
        pick=st.integers(0, 500),
        exclude=st.booleans(),
        stale=st.booleans(),
        sku=st.sampled_from([None, *SKUS]),
    )
    def override(self, who, pick, exclude, stale, sku):
        ids = self._ids(Offer)
        if not ids:
            return
        offer_id = ids[pick % len(ids)]
        version = self._version(Offer, offer_id)
        stale = stale and version > 1

        def call(session):
            campaign_reviews.override_offer(
                session=session,
                offer_id=offer_id,
                actor=who,
                reason="knows the customer",
                now=NOW,
                expected_version=version - 1 if stale else version,
                sku=None if exclude else sku,
                discount_pct=None if exclude else 10.0,
                exclude=exclude,
            )

        self._attempt(Permission.OVERRIDE_OFFERS, who, call, stale=stale, action="offer.override")

    @rule(
        who=ANYONE,
        scope=st.sampled_from(["sku", "supplier", "category", "customer", "all"]),
        pick=st.integers(0, 20),
        days=st.sampled_from([None, 1, 10]),
    )
    def pause(self, who, scope, pick, days):
        targets = {
            "sku": SKUS,
            "supplier": ("S1", "S2"),
            "category": ("paint", "canvas", "brushes"),
            "customer": CUSTOMERS,
            "all": (None,),
        }[scope]

        def call(session):
            pauses.pause(
                session=session,
                actor=who,
                scope=scope,
                target=targets[pick % len(targets)],
                reason="supplier delay",
                now=NOW,
                ends_at=None if days is None else NOW + timedelta(days=days),
            )

        self._attempt(Permission.PAUSE_OFFERS, who, call, stale=False, action="pause.create")

    @rule(who=ANYONE, pick=st.integers(0, 20))
    def lift(self, who, pick):
        with Session(self.engine) as session:
            open_ids = [p.id for p in pauses.active(session, now=NOW)]
        if not open_ids:
            return
        pause_id = open_ids[pick % len(open_ids)]

        def call(session):
            pauses.lift(session=session, actor=who, pause_id=pause_id, reason="back", now=NOW)

        self._attempt(Permission.PAUSE_OFFERS, who, call, stale=False, action="pause.lift")

    @rule(who=ANYONE, sku=st.sampled_from(SKUS), on_hand=st.integers(-3, 600))
    def import_stock(self, who, sku, on_hand):
        """A stock feed arrives (a negative count is a bad file and must change nothing)."""
        path = self.tmp / "stock.csv"
        path.write_text(f"sku,on_hand,updated_at\n{sku},{on_hand},{NOW.isoformat()}\n")
        before = snapshot(self.engine)
        events = count(self.engine, audit.AuditEvent)
        try:
            import_file(self.engine, kind="stock", path=path, actor=who, now=NOW)
        except EaselError as error:
            assert not who.can(Permission.IMPORT_DATA) or on_hand < 0, str(error)
            assert snapshot(self.engine) == before
            return
        assert who.can(Permission.IMPORT_DATA) and on_hand >= 0
        assert count(self.engine, audit.AuditEvent) == events + 1
        with Session(self.engine) as session:
            assert session.get(StockLevel, sku).on_hand == on_hand

    # --- what must always hold -------------------------------------------------------------

    def _audit_actions(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(audit.AuditEvent.action)).scalars())

    def _sent_ids(self) -> list[int]:
        with Session(self.engine) as session:
            return list(session.exec(select(Offer.id).where(Offer.sent_at.is_not(None))).scalars())

    def _not_sendable(self, at: datetime) -> set[int]:
        """Offers that may not go out at `at`: paused (any scope), or their SKU empty or short."""
        with Session(self.engine) as session:
            active = pauses.active_frame(session, now=at)
            offers = session.exec(
                select(
                    Offer.id, Offer.customer_id, Offer.sku, Product.supplier_id, Product.category
                )
                .join(Product, Product.sku == Offer.sku, isouter=True)
                .where(Offer.sent_at.is_(None))
            ).all()
            empty = {s.sku for s in session.exec(select(StockLevel)).scalars() if s.on_hand <= 0}
            # Short: its stock will not last until the next delivery (the inventory watch's rule).
            empty |= set(sku_problems(inventory.sku_cover(session, as_of=at.date(), now=at)))
        targets = {
            scope: set(active.loc[active["scope"] == scope, "target"])
            for scope in ("sku", "supplier", "category", "customer")
        }
        everything = (active["scope"] == "all").any()
        return {
            o.id
            for o in offers
            if everything
            or o.customer_id in targets["customer"]
            or (
                o.sku is not None
                and (
                    o.sku in targets["sku"]
                    or o.supplier_id in targets["supplier"]
                    or o.category in targets["category"]
                    or o.sku in empty
                )
            )
        }

    @invariant()
    def holdout_is_never_contacted(self):
        with Session(self.engine) as session:
            held = set(session.exec(select(Offer.id).where(Offer.holdout)).scalars())
            contacted = session.exec(
                select(Offer.id).where(Offer.holdout, Offer.sent_at.is_not(None))
            ).all()
        assert contacted == []
        assert not held & {int(k.removeprefix("offer:")) for k in self.channel.keys}

    @invariant()
    def contact_cap_holds(self):
        with Session(self.engine) as session:
            rows = session.exec(
                select(Offer.customer_id, Offer.sent_at).where(Offer.sent_at.is_not(None))
            ).all()
        weeks = Counter((c, sent.isocalendar()[:2]) for c, sent in rows)
        assert all(n <= 1 for n in weeks.values()), weeks

    @invariant()
    def nothing_is_sent_twice(self):
        assert len(self.channel.keys) == len(set(self.channel.keys))

    @invariant()
    def audit_chain_verifies(self):
        with Session(self.engine) as session:
            report = audit.verify(session)
        assert report.ok, report

    @invariant()
    def every_decision_is_audited(self):
        """Each reviewed campaign's latest decision has its event, with the same after-state."""
        with Session(self.engine) as session:
            reviewed = (
                session.exec(select(Campaign).where(Campaign.reviewed_by.is_not(None)))
                .scalars()
                .all()
            )
            for campaign in reviewed:
                last = session.exec(
                    select(audit.AuditEvent.after)
                    .where(
                        audit.AuditEvent.entity_type == "campaign",
                        audit.AuditEvent.entity_id == str(campaign.id),
                    )
                    .order_by(audit.AuditEvent.id.desc())
                ).first()
                assert last is not None
                assert json.loads(last[0])["version"] == campaign.version


def test_random_days_in_the_marketplace_keep_every_promise(engine, trained, tmp_path, monkeypatch):
    channel = RecordingChannel()
    monkeypatch.setattr(dispatch, "channel_from_settings", lambda _settings, now: channel)
    Marketplace.engine, Marketplace.trained = engine, trained
    Marketplace.channel, Marketplace.tmp = channel, tmp_path
    run_state_machine_as_test(
        Marketplace,
        settings=settings(
            max_examples=int(os.environ.get("EASEL_STATE_MACHINE_EXAMPLES", "6")),
            stateful_step_count=24,
            deadline=None,
            # One database serves every example (wiped in __init__), hence the fixture use.
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


def test_the_shop_is_proposed_scored_and_sent_for_real(engine, trained, monkeypatch):
    """The machine's starting point is a real one: scoring and proposals find work in it."""
    wipe(engine)
    build_shop(engine, trained)
    assert registry.run(
        engine, "nightly_scoring", slot=PROPOSE_DAY, actor=SYSTEM, clock=lambda: PROPOSE_DAY
    ).rows == len(CUSTOMERS)
    assert (
        registry.run(
            engine, "weekly_proposals", slot=PROPOSE_DAY, actor=SYSTEM, clock=lambda: PROPOSE_DAY
        ).rows
        > 0
    )
    assert count(engine, Offer, Offer.holdout) > 0
    with Session(engine) as session:
        assert {c.send_date for c in session.exec(select(Campaign)).scalars()} == {
            date(2026, 6, 15)
        }
