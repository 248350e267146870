"""The console's database handle: one engine per URL, shared by every session of the server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.config import Settings
from core.db import make_engine, session_scope


@st.cache_resource(show_spinner=False)
def _engine_for(url: str, busy_timeout_ms: int) -> Engine:
    return make_engine(url, busy_timeout_ms=busy_timeout_ms)


def settings() -> Settings:
    return Settings()


def get_engine() -> Engine:
    config = settings()
    return _engine_for(config.url, config.sqlite_busy_timeout_ms)


@contextmanager
def session() -> Iterator[Session]:
    """A unit of work for one action: committed on success, rolled back on error."""
    with session_scope(get_engine()) as db_session:
        yield db_session


def now() -> datetime:
    return datetime.now(UTC)
