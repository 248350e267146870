"""What every command needs: settings, the engine, the clock, the acting user."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import lru_cache

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import schema
from core.config import Settings
from core.db import make_engine
from core.errors import EaselError
from core.roles import SYSTEM, Actor
from core.users import get_user


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The database, upgraded to the current schema on first use."""
    config = settings()
    engine = make_engine(config.url, busy_timeout_ms=config.sqlite_busy_timeout_ms)
    schema.upgrade(engine)
    return engine


def now() -> datetime:
    return datetime.now(UTC)


def actor(username: str | None) -> Actor:
    """The user a command acts as: --as USER, else EASEL_USER, else the system."""
    name = username or os.environ.get("EASEL_USER")
    if not name:
        return SYSTEM
    with Session(engine()) as session:
        try:
            return get_user(session, name).as_actor()
        except EaselError as error:
            fail(str(error))
            raise


def fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)
