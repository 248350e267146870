"""End to end in headless Chromium: a planner approves a campaign, a manager finds the approval
in the audit trail. Screenshots of every page visited go to $EASEL_SCREENSHOTS (`make screenshots`
sets it to docs/screenshots/), else to a folder under the system's temporary directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core import approval_views, demo, proposals, scoring, users
from core.audit import AuditEvent
from core.campaigns import Campaign, Status
from core.db import make_engine, session_scope
from core.roles import SYSTEM
from core.schema import metadata

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(
    os.environ.get("EASEL_SCREENSHOTS") or Path(tempfile.gettempdir()) / "easel-screenshots"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOGINS = {"planner": "planner-e2e-pass", "manager": "manager-e2e-pass", "admin": "admin-e2e-pass"}
REASON = "Stock covers the pull and the margin holds"
TIMEOUT_MS = 60_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Python package playwright missing")


def _demo_database(path: Path, now: datetime) -> str:
    """A small demo marketplace, scored, with next week's proposals and one login per role."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    metadata.create_all(engine)
    demo.write(engine, demo.generate(customers=2_000, seed=11, end_date=now.date()), now=now)
    scoring.score_customers(engine, actor=SYSTEM, as_of=now.date(), now=now)
    with session_scope(engine) as session:
        proposals.propose(session=session, as_of=now.date(), now=now)
        for role, password in LOGINS.items():
            users.add_user(
                session, actor=SYSTEM, username=role, role=role, password=password, now=now
            )
    engine.dispose()
    return url


def _approvable(url: str) -> Campaign:
    """The first campaign a planner may approve on their own (no manager needed)."""
    engine = make_engine(url)
    with Session(engine) as session:
        campaigns = session.exec(select(Campaign).order_by(Campaign.campaign_type)).all()
    engine.dispose()
    return next(c for c in campaigns if not approval_views.needs_manager(c))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not start within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def console(tmp_path):
    """The console served by `streamlit run` on a free port against a fresh demo database."""
    now = datetime.now(UTC)
    url = _demo_database(tmp_path / "e2e.db", now)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "EASEL_DATA_DIR": str(tmp_path)}
    log = tmp_path / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py"]
    command += ["--server.port", str(port), "--server.headless", "true"]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, server, log)
        yield base, url, tmp_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _settle(page, title: str) -> None:
    """Wait for the page's title, then for the script run to finish."""
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(300)  # let charts finish drawing before a screenshot


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page, base: str, role: str) -> None:
    page.goto(base)
    page.get_by_label("User name").fill(role)
    page.get_by_label("Password", exact=True).fill(LOGINS[role])
    page.get_by_role("button", name="Sign in").click()
    _settle(page, "Overview")


def _visit(page, role: str, link: str, title: str | None = None) -> None:
    page.get_by_role("link", name=link).click()
    _settle(page, title or link)
    _shot(page, f"{role}-{link.lower().replace(' ', '-')}")


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT_MS)


def test_planner_approves_and_manager_finds_it_in_the_audit_trail(console):
    base, url, scratch = console
    campaign = _approvable(url)
    label = f"{campaign.campaign_type.replace('_', ' ').capitalize()} · proposed"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1200})
        page.set_default_timeout(TIMEOUT_MS)
        try:
            page.goto(base)
            page.get_by_role("button", name="Sign in").wait_for()
            _shot(page, "sign-in")

            _sign_in(page, base, "planner")
            _shot(page, "planner-overview")
            _visit(page, "planner", "At-risk customers")
            _visit(page, "planner", "Inventory and suppliers")
            _visit(page, "planner", "Campaign approval")
            page.get_by_text(label, exact=True).click()
            page.get_by_role("heading", name=label.split(" · ")[0], exact=False).first.wait_for()
            _settle(page, "Campaign approval")
            _shot(page, "planner-campaign-approval-chosen")
            page.get_by_role("button", name="Approve", exact=True).click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_label("Reason (required)").fill(REASON)
            dialog.get_by_role("button", name="Approve", exact=True).click()
            page.get_by_text("Approved the", exact=False).first.wait_for()
            _settle(page, "Campaign approval")
            _shot(page, "planner-campaign-approved")
            _sign_out(page)

            _sign_in(page, base, "manager")
            _shot(page, "manager-overview")
            for title in ("At-risk customers", "Campaign approval", "Results"):
                _visit(page, "manager", title)
            _visit(page, "manager", "Model", "Churn model")
            _visit(page, "manager", "Audit trail")
            page.locator("[data-testid='stSelectbox']").filter(has_text="Action").click()
            page.get_by_role("option", name="campaign.approve").click()
            page.get_by_text("1 events · page 1 of 1").wait_for()
            _settle(page, "Audit trail")
            _shot(page, "manager-audit-trail-approval")
            with page.expect_download() as download:
                page.get_by_role("button", name="Export these events (CSV)").click()
            exported = Path(download.value.path()).read_text()
            _sign_out(page)

            _sign_in(page, base, "admin")
            _shot(page, "admin-overview")
            for title in ("Jobs", "Users"):
                _visit(page, "admin", title)
        except Exception:
            page.screenshot(path=str(scratch / "failure.png"), full_page=True)
            print(f"screenshot of the failure: {scratch / 'failure.png'}")
            print("the console's log ends:\n" + (scratch / "streamlit.log").read_text()[-3000:])
            raise
        finally:
            browser.close()

    assert "campaign.approve" in exported and REASON in exported and "planner" in exported
    engine = make_engine(url)
    with Session(engine) as session:
        approved = session.get(Campaign, campaign.id)
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "campaign.approve")
        ).one()
    engine.dispose()
    assert (approved.status, approved.reviewed_by) == (Status.APPROVED, "planner")
    assert (event.actor, event.reason, event.entity_id) == ("planner", REASON, str(campaign.id))
