"""Nobody gets in where their role does not reach: every core service and every console page
refuses a role without the permission, and a refused call changes nothing."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from streamlit.util import calc_hash

from core import (
    approvals,
    campaign_config,
    campaign_reviews,
    dispatch,
    importing,
    inventory_watch,
    job_runner,
    model_store,
    outcomes,
    pause_expiry,
    pauses,
    policy_learning,
    privacy,
    proposals,
    response_simulation,
    scoring,
    sends,
    service_recovery,
    summaries,
    users,
)
from core.audit import AuditEvent
from core.campaigns import Campaign
from core.errors import PermissionDenied
from core.roles import LOGIN_ROLES, PERMISSIONS, SYSTEM, Actor, Permission, Role
from tests import console_factories as make
from tests import pages
from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[1]
P = Permission


@dataclass(frozen=True)
class Service:
    """A core service and the permission it demands; `call` runs it with harmless arguments
    (every check comes before any lookup, so no data is needed to be refused)."""

    function: Callable
    permission: Permission
    call: Callable[[Session, Any, Actor, Any], Any]


def _s(function, permission, call) -> Service:
    return Service(function, permission, call)


SERVICES = [
    _s(users.add_user, P.MANAGE_USERS, lambda s, e, a, now: users.add_user(
        s, actor=a, username="eve", role="admin", password="x" * 10, now=now)),
    _s(users.set_role, P.MANAGE_USERS, lambda s, e, a, now: users.set_role(
        s, actor=a, username="pat", role="admin", reason="x", now=now)),
    _s(dispatch.dispatch, P.RUN_JOBS, lambda s, e, a, now: dispatch.dispatch(
        session=s, engine=e, channel=None, actor=a, now=now, clock=lambda: now,
        max_age=None, material_change=0.5)),
    _s(summaries.refresh, P.RUN_JOBS, lambda s, e, a, now: summaries.refresh(s, actor=a, now=now)),
    _s(sends.resolve, P.RESOLVE_SENDS, lambda s, e, a, now: sends.resolve(
        session=s, actor=a, keys=["offer:1"], outcome="delivered", reason="x", now=now)),
    _s(model_store.save_version, P.MANAGE_MODEL, lambda s, e, a, now: model_store.save_version(
        s, actor=a, result=None, as_of=now.date(), now=now)),
    _s(model_store.activate_version, P.MANAGE_MODEL, lambda s, e, a, now:
        model_store.activate_version(s, actor=a, version_id=1, now=now)),
    _s(inventory_watch.watch, P.PAUSE_OFFERS, lambda s, e, a, now: inventory_watch.watch(
        session=s, actor=a, now=now)),
    _s(policy_learning.update, P.RUN_JOBS, lambda s, e, a, now: policy_learning.update(
        session=s, actor=a, now=now)),
    _s(outcomes.attribute, P.RUN_JOBS, lambda s, e, a, now: outcomes.attribute(
        session=s, actor=a, now=now, window_days=14)),
    _s(importing.import_file, P.IMPORT_DATA, lambda s, e, a, now: importing.import_file(
        e, kind="customers", path="missing.csv", actor=a, now=now)),
    _s(campaign_config.update_config, P.EDIT_SETTINGS, lambda s, e, a, now:
        campaign_config.update_config(session=s, actor=a, changes={}, reason="x", now=now)),
    _s(proposals.propose, P.RUN_JOBS, lambda s, e, a, now: proposals.propose(
        session=s, as_of=now.date(), now=now, actor=a)),
    _s(scoring.score_customers, P.RUN_JOBS, lambda s, e, a, now: scoring.score_customers(
        e, actor=a, as_of=now.date(), now=now)),
    _s(job_runner.run_job, P.RUN_JOBS, lambda s, e, a, now: job_runner.run_job(
        e, job="x", func=lambda **kw: None, slot=now, actor=a, clock=lambda: now)),
    _s(response_simulation.simulate, P.IMPORT_DATA, lambda s, e, a, now:
        response_simulation.simulate(session=s, actor=a, as_of=now.date(), now=now, traits=None)),
    _s(pauses.pause, P.PAUSE_OFFERS, lambda s, e, a, now: pauses.pause(
        session=s, actor=a, scope="all", target=None, reason="x", now=now)),
    _s(pauses.lift, P.PAUSE_OFFERS, lambda s, e, a, now: pauses.lift(
        session=s, actor=a, pause_id=1, reason="x", now=now)),
    _s(pause_expiry.expire, P.PAUSE_OFFERS, lambda s, e, a, now: pause_expiry.expire(
        session=s, actor=a, now=now)),
    _s(approvals.exclude_offers, P.OVERRIDE_OFFERS, lambda s, e, a, now:
        approvals.exclude_offers(session=s, versions={1: 1}, actor=a, reason="x", now=now)),
    _s(approvals.move_offer, P.OVERRIDE_OFFERS, lambda s, e, a, now: approvals.move_offer(
        session=s, offer_id=1, campaign_id=1, actor=a, reason="x", now=now)),
    _s(service_recovery.propose, P.PROPOSE_SERVICE_RECOVERY, lambda s, e, a, now:
        service_recovery.propose(session=s, actor=a, reason="x", now=now)),
    _s(campaign_reviews.approve, P.APPROVE_CAMPAIGNS, lambda s, e, a, now:
        campaign_reviews.approve(session=s, campaign_id=1, actor=a, reason="x", now=now)),
    _s(campaign_reviews.reject, P.APPROVE_CAMPAIGNS, lambda s, e, a, now:
        campaign_reviews.reject(session=s, campaign_id=1, actor=a, reason="x", now=now)),
    _s(campaign_reviews.edit, P.APPROVE_CAMPAIGNS, lambda s, e, a, now: campaign_reviews.edit(
        session=s, campaign_id=1, actor=a, reason="x", now=now, discount_pct=5.0)),
    _s(campaign_reviews.override_offer, P.OVERRIDE_OFFERS, lambda s, e, a, now:
        campaign_reviews.override_offer(session=s, offer_id=1, actor=a, reason="x", now=now,
                                        exclude=True)),
    _s(privacy.erase_customer, P.ERASE_CUSTOMERS, lambda s, e, a, now: privacy.erase_customer(
        s, actor=a, customer_id="c1", reason="REQ-1", key=b"k", now=now)),
]  # fmt: skip

# Read-only permissions the console's pages enforce (the reads take no actor): tested below with
# the pages, like every page's permission.
PAGE_PERMISSIONS = {p.permission for p in PAGES if p.permission is not None}
# Checked inside campaign_reviews.approve: tested on its own below.
OWN_TESTS = {P.APPROVE_LARGE_CAMPAIGNS}

REFUSALS = [
    pytest.param(
        service, role, id=f"{service.function.__module__}.{service.function.__name__}-{role}"
    )
    for service in SERVICES
    for role in (*LOGIN_ROLES, Role.SYSTEM)
    if service.permission not in PERMISSIONS[role]
    and not (service.function is users.add_user and role is Role.SYSTEM)  # bootstrapping
]


def _audit_count(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(AuditEvent.id)).all())


@pytest.mark.parametrize(("service", "role"), REFUSALS)
def test_each_service_refuses_a_role_without_its_permission(engine, now, service, role):
    before = _audit_count(engine)
    with Session(engine) as session:
        with pytest.raises(PermissionDenied, match="may not"):
            service.call(session, engine, Actor("someone", role), now)
        session.commit()  # even a commit after the refusal writes nothing
    assert _audit_count(engine) == before


def _required(tree: ast.AST) -> list[tuple[str, str]]:
    """(function, permission) for every `require(actor, Permission.X)` in a module."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for call in ast.walk(function):
            if (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", None) == "require"
                and len(call.args) == 2
                and isinstance(call.args[1], ast.Attribute)
            ):
                found.append((function.name, call.args[1].attr))
    return found


def test_the_table_holds_every_service_that_checks_a_permission():
    """A new service with a permission check must be added to SERVICES (and so be tested)."""
    in_code = set()
    for path in sorted((ROOT / "core").rglob("*.py")):
        if path.name == "roles.py":
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for function, permission in _required(ast.parse(path.read_text())):
            in_code.add((module, function, permission))
    in_table = {(s.function.__module__, s.function.__name__, s.permission.name) for s in SERVICES}
    assert in_code == in_table


def test_every_permission_is_tested():
    """A new permission fails here until a service or a page test covers it."""
    covered = {s.permission for s in SERVICES} | PAGE_PERMISSIONS | OWN_TESTS
    assert covered == set(Permission)
    # and every login role is refused somewhere: no role holds everything
    for role in LOGIN_ROLES:
        assert PERMISSIONS[role] != set(Permission)


def test_a_large_campaign_refuses_a_planner(engine, now, planner, manager):
    make.campaign(engine, 1)
    with Session(engine) as session:
        campaign = session.get(Campaign, 1)
        campaign.needs_manager_approval = True
        session.add(campaign)
        session.commit()
        with pytest.raises(PermissionDenied, match="manager"):
            campaign_reviews.approve(
                session=session, campaign_id=1, actor=planner, reason="x", now=now
            )
        session.rollback()
        assert session.get(Campaign, 1).status == "proposed"
        approved = campaign_reviews.approve(
            session=session, campaign_id=1, actor=manager, reason="fine", now=now
        )
        assert approved.status == "approved"


# --- pages -------------------------------------------------------------------------------

PAGE_REFUSALS = [
    pytest.param(spec, role, id=f"{Path(spec.path).stem}-{role}")
    for spec in PAGES
    if spec.permission is not None
    for role in LOGIN_ROLES
    if spec.permission not in PERMISSIONS[role]
]


REFUSED = "Your role does not give access to this page."


@pytest.fixture
def console(engine, monkeypatch):
    pages.use_database(monkeypatch, engine)
    return engine


def test_every_page_is_gated_by_its_navigation_permission():
    """The permission a page checks itself is the one the navigation lists it under."""
    for spec in PAGES:
        source = (ROOT / spec.path).read_text()
        expected = (
            "auth.require()"
            if spec.permission is None
            else f"auth.require(Permission.{spec.permission.name})"
        )
        assert expected in source, spec.path


@pytest.mark.parametrize(("spec", "role"), PAGE_REFUSALS)
def test_each_page_file_refuses_a_role_that_may_not_see_it(console, spec, role):
    test = pages.page(Path(spec.path).stem, Actor("someone", role))
    test.run()
    assert not test.exception
    assert [e.value for e in test.error] == [REFUSED]
    assert not test.title and not test.dataframe and not test.button


def _open_by_address(role: Role, url_path: str):
    """The console as a browser opening http://host/<url_path> with this person signed in."""
    test = pages.app()
    test.session_state["actor"] = Actor("someone", role)
    # What the browser's address turns into: the page hash st.Page derives from its url path.
    test._page_hash = calc_hash(url_path)
    test.run()
    return test


@pytest.mark.parametrize(("spec", "role"), PAGE_REFUSALS)
def test_a_page_opened_by_its_address_is_refused(console, spec, role):
    """The navigation does not list the page; if the address still reaches the file, the page's
    own check refuses. Either way nothing of the page is shown."""
    test = _open_by_address(role, Path(spec.path).stem)
    assert not test.exception
    shown = ([t.value for t in test.title], [e.value for e in test.error])
    assert shown in ((["Overview"], []), ([], [REFUSED]))
    assert not test.dataframe


def test_a_page_opened_by_its_address_opens_for_a_role_that_may_see_it(console):
    test = _open_by_address(Role.ADMIN, "users")
    assert not test.exception
    assert [t.value for t in test.title] == ["Users"]


def test_the_system_role_never_signs_in(engine, now):
    with Session(engine) as session:
        users.add_user(
            session, actor=SYSTEM, username="ada", role="admin", password="x" * 10, now=now
        )
        with pytest.raises(Exception, match="Unknown role"):
            users.add_user(
                session, actor=SYSTEM, username="bot", role="system", password="x" * 10, now=now
            )
