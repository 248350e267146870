"""Settings from the environment, built once at the edge and passed down as values."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Easel reads from the environment.

    `DATABASE_URL` is read as is; every other setting has the prefix `EASEL_`
    (e.g. `EASEL_DATA_DIR`). See docs/settings.md.
    """

    model_config = SettingsConfigDict(env_prefix="EASEL_", extra="ignore")

    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "EASEL_DATABASE_URL")
    )
    data_dir: Path = Path("data")
    sqlite_busy_timeout_ms: int = 30_000
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    pseudonym_key: str = ""  # keys the erasure's pseudonyms; a key file in data_dir when empty
    # Cadence overrides, e.g. "nightly_scoring=cron 0 2 * * *; inventory_watch=every 1h".
    schedule: str = ""
    # The background loop (jobs/): scoring, dispatch, outcomes, freshness.
    retrain_every_days: int = 7
    dispatch_channel: str = "csv"  # csv | smtp | webhook
    outbox_dir: Path | None = None  # CSV exports; data_dir/outbox when empty
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "offers@easel.local"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    webhook_url: str = ""
    webhook_secret: str = ""
    approval_max_age_hours: int = 168
    material_stock_change: float = 0.5
    attribution_days: int = 14
    simulate_responses: bool = False
    stock_feed_max_age_hours: int = 48

    @property
    def url(self) -> str:
        """The URL to connect to: DATABASE_URL, else a SQLite file under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'easel.db').as_posix()}"

    @property
    def outbox(self) -> Path:
        """Where the CSV channel writes its list-import files."""
        return self.outbox_dir or self.data_dir / "outbox"
