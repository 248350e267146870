"""The Jobs page: admins see the runs and can start one; other roles are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from core.jobruns import JobRun
from core.pauses import Pause
from tests import pages

EARLIER = datetime(2026, 6, 14, 2, 0, tzinfo=UTC)


def _seed_runs(engine) -> None:
    with Session(engine) as session:
        session.add(
            JobRun(
                job="pause_expiry",
                scheduled_for=EARLIER,
                started_at=EARLIER,
                finished_at=EARLIER + timedelta(seconds=3),
                status="failed",
                error="RuntimeError: the stock feed broke\n\nTraceback ...",
            )
        )
        session.commit()


def test_an_admin_sees_the_runs_with_their_errors(engine, monkeypatch, admin):
    pages.use_database(monkeypatch, engine)
    _seed_runs(engine)
    page = pages.page("job_runs", admin).run()
    assert not page.exception
    shown = page.dataframe[0].value
    assert list(shown["Status"]) == ["failed"]
    assert shown["Error"][0] == "RuntimeError: the stock feed broke"
    assert shown["Seconds"][0] == 3.0
    assert "Traceback" in page.expander[0].code[0].value


def test_an_admin_runs_a_job_and_sees_it_finish(engine, monkeypatch, admin, now):
    pages.use_database(monkeypatch, engine)
    with Session(engine) as session:
        session.add(
            Pause(
                scope="all",
                target="*",
                reason="stock count",
                starts_at=now - timedelta(days=400),
                ends_at=now - timedelta(days=399),
                created_by="ada",
                created_at=now - timedelta(days=400),
            )
        )
        session.commit()
    page = pages.page("job_runs", admin).run()
    page.selectbox[0].select("pause_expiry")
    page.button[0].click().run()
    assert not page.exception
    assert "succeeded: 1 row(s)" in page.success[0].value
    with Session(engine) as session:
        [run] = session.exec(select(JobRun)).all()
        assert (run.status, run.rows, run.triggered_by) == ("succeeded", 1, "ada")
        assert session.exec(select(Pause)).one().lifted_by == "system"
    assert list(page.dataframe[0].value["Status"]) == ["succeeded"]


def test_a_planner_is_refused(engine, monkeypatch, planner):
    pages.use_database(monkeypatch, engine)
    _seed_runs(engine)
    page = pages.page("job_runs", planner).run()
    assert "does not give access" in page.error[0].value
    assert not page.dataframe and not page.button
