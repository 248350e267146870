"""Helpers for page tests: run the real app or one page against the test database."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.roles import Actor

ROOT = Path(__file__).resolve().parents[1]


def use_database(monkeypatch, engine) -> None:
    """Point the console at the test's database."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def page(name: str, actor: Actor | None) -> AppTest:
    """One page file, run on its own with the given person signed in."""
    test = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=30)
    if actor is not None:
        test.session_state["actor"] = actor
    return test
