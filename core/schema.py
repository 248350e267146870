"""The whole schema in one place, and the migrations that build and upgrade it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

# Importing the modules registers their tables on SQLModel.metadata.
from core import (  # noqa: F401
    audit,
    campaign_config,
    campaigns,
    console_indexes,
    jobruns,
    model_versions,
    pauses,
    scores,
    sends,
    summaries,
    tables,
    users,
)

metadata = SQLModel.metadata
MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (creates it when empty)."""
    command.upgrade(alembic_config(engine), "head")


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
