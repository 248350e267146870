"""Several people (threads, and processes) deciding on the same campaigns at once while the
dispatch job runs: one decision per version wins, the others get a clear StaleVersion, nothing
is lost or sent twice, nobody waits for ever, and SQLite never says "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from core import campaign_reviews, dispatch, pauses
from core.audit import AuditEvent, verify
from core.campaigns import Campaign, Offer
from core.channels import SENT, Result
from core.errors import EaselError, StaleVersion
from core.job_runner import run_job
from core.roles import SYSTEM, Actor, Role
from core.tables import Supplier
from jobs import registry
from tests import loop_factories as f

ROOT = Path(__file__).resolve().parents[1]
JOIN_TIMEOUT = 60  # seconds; a thread still alive after this is a deadlock
CAMPAIGNS = (1, 2, 3)
PEOPLE = [
    Actor("meg", Role.MANAGER),
    Actor("pat", Role.PLANNER),
    Actor("pia", Role.PLANNER),
    Actor("max", Role.MANAGER),
]


class CountingChannel:
    name = "counting"

    def __init__(self):
        self.keys: list[str] = []
        self.lock = threading.Lock()

    def send(self, messages):
        with self.lock:
            self.keys += [m.key for m in messages]
        return [Result(m.key, SENT, "ok") for m in messages]


@pytest.fixture
def world(engine):
    """Three proposed campaigns of four offers each (one held out), due today."""
    f.catalogue(engine)
    f.customers(engine, *(f"c{n}" for n in range(12)))
    for campaign_id in CAMPAIGNS:
        f.campaign(engine, campaign_id, status="proposed", campaign_type=f"type{campaign_id}")
        for n in range(4):
            customer = f"c{(campaign_id - 1) * 4 + n}"
            f.offer(
                engine,
                campaign_id,
                customer,
                status="proposed",
                holdout=n == 3,
                campaign_type=f"type{campaign_id}",
            )
    return engine


@dataclass
class Outcomes:
    won: Counter = field(default_factory=Counter)  # (campaign, round) -> wins
    stale: int = 0
    refused: int = 0
    unexpected: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, key, error: BaseException | None) -> None:
        with self.lock:
            if error is None:
                self.won[key] += 1
            elif isinstance(error, StaleVersion):
                assert "reload and try again" in str(error)
                self.stale += 1
            elif isinstance(error, EaselError):
                self.refused += 1
            else:
                self.unexpected.append("".join(traceback.format_exception(error))[-1500:])


def _version(engine, campaign_id: int) -> int:
    with Session(engine) as session:
        return session.get(Campaign, campaign_id).version


def _decide(engine, person: Actor, action: str, campaign_id: int, version: int, now):
    with Session(engine, expire_on_commit=False) as session:
        common = {
            "session": session,
            "campaign_id": campaign_id,
            "actor": person,
            "now": now,
            "expected_version": version,
        }
        if action == "approve":
            campaign_reviews.approve(reason=f"{person.username} approves", **common)
        elif action == "edit":
            campaign_reviews.edit(reason="smaller", discount_pct=5.0, **common)
        else:
            campaign_reviews.reject(reason="not now", **common)
        session.commit()


def _run_threads(targets) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "a thread hung: deadlock"
    return threads


def test_people_racing_on_the_same_versions_never_lose_an_update(world, now, monkeypatch):
    channel = CountingChannel()
    monkeypatch.setattr(dispatch, "channel_from_settings", lambda _s, now: channel)
    outcomes = Outcomes()
    rounds = 3
    barrier = threading.Barrier(len(PEOPLE))
    actions = ["edit", "approve", "edit"]  # each round: everyone tries the same kind of change
    jobs_done: list[str] = []
    stop = threading.Event()

    def person(index: int):
        me = PEOPLE[index]
        for round_ in range(rounds):
            seen = {c: _version(world, c) for c in CAMPAIGNS}
            barrier.wait(JOIN_TIMEOUT)  # everyone has read the same versions
            for campaign_id in CAMPAIGNS:
                try:
                    _decide(world, me, actions[round_], campaign_id, seen[campaign_id], now)
                    outcomes.note((campaign_id, round_), None)
                except BaseException as error:
                    outcomes.note((campaign_id, round_), error)
            barrier.wait(JOIN_TIMEOUT)  # the round is over for everyone

    def pauser():
        for n in range(6):
            with Session(world, expire_on_commit=False) as session:
                try:
                    row = pauses.pause(
                        session=session,
                        actor=PEOPLE[n % 2],
                        scope="customer",
                        target=f"c{n}",
                        reason="asked us to wait",
                        now=now,
                    )
                    session.commit()
                    outcomes.note(("pause", n), None)
                    pauses.lift(
                        session=session,
                        actor=PEOPLE[1],
                        pause_id=row.id,
                        reason="call done",
                        now=now,
                    )
                    session.commit()
                    outcomes.note(("lift", n), None)
                except BaseException as error:
                    outcomes.note(("pause", n), error)

    def dispatcher():
        n = 0
        while not stop.is_set() and n < 40:
            slot = now + timedelta(minutes=15 * n)
            outcome = registry.run(world, "dispatch", slot=slot, actor=SYSTEM, clock=lambda: now)
            jobs_done.append(outcome.status)
            n += 1

    job = threading.Thread(target=dispatcher, daemon=True)
    job.start()
    _run_threads([lambda i=i: person(i) for i in range(len(PEOPLE))] + [pauser])
    stop.set()
    job.join(JOIN_TIMEOUT)
    assert not job.is_alive(), "the dispatch job hung"
    assert outcomes.unexpected == []  # e.g. "database is locked"
    assert set(jobs_done) <= {"succeeded", "busy"} and "succeeded" in jobs_done
    # One winner per campaign and round; every loser was told its view was stale.
    for campaign_id in CAMPAIGNS:
        for round_ in range(rounds):
            assert outcomes.won[(campaign_id, round_)] == 1, (campaign_id, round_)
    assert outcomes.stale == len(CAMPAIGNS) * rounds * (len(PEOPLE) - 1)
    with Session(world) as session:
        for campaign_id in CAMPAIGNS:
            campaign = session.get(Campaign, campaign_id)
            assert campaign.version == 1 + rounds  # no update lost, none applied twice
            assert (campaign.status, campaign.discount_pct) == ("edited", 5.0)
        actions_done = Counter(session.exec(select(AuditEvent.action)).scalars())
        assert actions_done["campaign.edit"] == 2 * len(CAMPAIGNS)
        assert actions_done["campaign.approve"] == len(CAMPAIGNS)
        assert actions_done["pause.create"] == actions_done["pause.lift"] == 6
        assert verify(session).ok
        sent = session.exec(select(Offer.id).where(Offer.sent_at.is_not(None))).scalars().all()
        holdout = set(session.exec(select(Offer.id).where(Offer.holdout)).scalars())
    # Whatever went out between the approval and the next edit went once, never to the holdout.
    assert len(channel.keys) == len(set(channel.keys))
    assert {int(k.removeprefix("offer:")) for k in channel.keys} == set(sent)
    assert not holdout & set(sent)


def test_the_loser_of_a_race_changed_nothing(world, now):
    version = _version(world, 1)
    _decide(world, PEOPLE[0], "approve", 1, version, now)
    with Session(world) as session:
        before = session.get(Campaign, 1).model_dump()
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()[0]
    with pytest.raises(StaleVersion, match="changed by meg"):
        _decide(world, PEOPLE[1], "reject", 1, version, now)
    with Session(world) as session:
        assert session.get(Campaign, 1).model_dump() == before
        assert session.exec(select(func.count()).select_from(AuditEvent)).one()[0] == events


def test_a_decision_after_a_stale_read_in_the_same_session_is_told_to_reload(world, now):
    with Session(world) as mine:
        seen = mine.get(Campaign, 1)  # the page read it ...
        version = seen.version
        _decide(world, PEOPLE[1], "edit", 1, version, now)  # ... someone else saved meanwhile
        with pytest.raises(StaleVersion, match="reload and try again"):
            campaign_reviews.approve(
                session=mine,
                campaign_id=1,
                actor=PEOPLE[0],
                reason="looks fine",
                now=now,
                expected_version=version,
            )
        mine.rollback()
    with Session(world) as session:
        assert session.get(Campaign, 1).status == "edited"


# A decider in a process of its own: waits until the start file appears, then approves
# campaign 1 at the version it was given, and prints what happened.
DECIDER = """
import sys, time
from datetime import datetime
from pathlib import Path
from sqlmodel import Session
from core import campaign_reviews
from core.db import make_engine
from core.errors import StaleVersion
from core.roles import Actor, Role

url, name, role, version, start, now = sys.argv[1:]
engine = make_engine(url)
print("ready", flush=True)
deadline = time.monotonic() + 60
while not Path(start).exists() and time.monotonic() < deadline:
    time.sleep(0.005)
try:
    with Session(engine) as session:
        campaign_reviews.approve(
            session=session, campaign_id=1, actor=Actor(name, Role(role)), reason="ok",
            now=datetime.fromisoformat(now), expected_version=int(version),
        )
        session.commit()
    print("won")
except StaleVersion:
    print("stale")
except Exception as error:
    print("unexpected", repr(error))
"""


def test_processes_racing_on_one_campaign_leave_one_winner(world, now, tmp_path):
    url = world.url.render_as_string(hide_password=False)
    version = _version(world, 1)
    start = tmp_path / "start"
    people = [("meg", "manager"), ("pat", "planner"), ("max", "manager")]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                DECIDER,
                url,
                name,
                role,
                str(version),
                str(start),
                now.isoformat(),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, role in people
    ]
    try:
        for child in children:  # every process has its engine before the race starts
            assert child.stdout.readline().strip() == "ready"
        start.touch()
        answers = [child.communicate(timeout=JOIN_TIMEOUT) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    outcomes = sorted(out.strip().splitlines()[-1] for out, _err in answers)
    assert outcomes == ["stale", "stale", "won"], answers
    with Session(world) as session:
        assert session.get(Campaign, 1).version == version + 1
        approvals = session.exec(
            select(AuditEvent.actor).where(AuditEvent.action == "campaign.approve")
        ).all()
        assert len(approvals) == 1 and verify(session).ok


def test_people_wait_for_a_job_holding_the_write_lock_instead_of_failing(world, now):
    """A job holds SQLite's write lock for its whole run; decisions taken meanwhile wait for
    it (busy timeout) and then go through: nobody sees "database is locked"."""
    started = threading.Event()

    def slow_job(context):
        context.session.add(Supplier(supplier_id="S9", name="Slow", lead_time_days=3))
        context.session.flush()
        started.set()
        time.sleep(1.5)
        return 1

    outcomes = Outcomes()

    def job():
        outcome = run_job(
            world, job="slow", func=slow_job, slot=now, actor=SYSTEM, clock=lambda: now
        )
        assert outcome.status == "succeeded", outcome.error

    def act(index: int):
        started.wait(JOIN_TIMEOUT)
        person = PEOPLE[index % 2 * 2]  # managers
        try:
            _decide(world, person, "edit", CAMPAIGNS[index], None, now)
            outcomes.note(("edit", index), None)
        except BaseException as error:
            outcomes.note(("edit", index), error)

    _run_threads([job] + [lambda i=i: act(i) for i in range(len(CAMPAIGNS))])
    assert outcomes.unexpected == [] and outcomes.stale == outcomes.refused == 0
    assert sum(outcomes.won.values()) == len(CAMPAIGNS)
    with Session(world) as session:
        assert session.get(Supplier, "S9") is not None
        assert verify(session).ok
