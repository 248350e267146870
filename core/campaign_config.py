"""Every campaign threshold, discount and window in one place; admins edit it, audited."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Column, Text
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel

from core import audit
from core.db import begin_write
from core.errors import InvalidInput
from core.roles import Actor, Permission, require

CAMPAIGN_TYPES = (
    "service_recovery",
    "replenishment",
    "on_the_brink",
    "win_back",
    "first_to_repeat",
    "cross_sell",
    "loyalty",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CampaignParams(_Strict):
    """What every campaign type has: on/off, its discount and its cold-start response rate."""

    enabled: bool = True
    discount_pct: float = Field(default=10.0, ge=0, le=90)
    prior_uptake: float = Field(default=0.05, gt=0, lt=1)


class FirstToRepeat(CampaignParams):
    min_days_since_first: int = Field(default=7, ge=0)
    max_days_since_first: int = Field(default=60, ge=1)


class CrossSell(CampaignParams):
    min_lift: float = Field(default=1.2, ge=0)
    min_support: int = Field(default=3, ge=1)
    recent_days: int = Field(default=180, ge=1)


class Replenishment(CampaignParams):
    days_before_due: int = Field(default=7, ge=0)
    days_after_due: int = Field(default=21, ge=0)
    min_purchases_for_own_cycle: int = Field(default=2, ge=2)


class OnTheBrink(CampaignParams):
    min_churn_probability: float = Field(default=0.5, ge=0, le=1)
    # High value is relative to the shop: at or above this quantile of scored customers' value.
    min_value_quantile: float = Field(default=0.75, ge=0, le=1)
    min_expected_value: float = Field(default=0.0, ge=0)


class WinBack(CampaignParams):
    min_days_since_last: int = Field(default=90, ge=1)
    max_days_since_last: int = Field(default=365, ge=1)


class Loyalty(CampaignParams):
    min_orders: int = Field(default=5, ge=1)
    min_spend: float = Field(default=300.0, ge=0)
    max_churn_probability: float = Field(default=0.2, ge=0, le=1)
    recent_days: int = Field(default=120, ge=1)


class ServiceRecovery(CampaignParams):
    lookback_days: int = Field(default=30, ge=1)
    credit_amount: float = Field(default=10.0, ge=0)
    min_late_days: int = Field(default=2, ge=0)


class CampaignConfig(_Strict):
    """All proposal parameters; the defaults are the shipped policy."""

    holdout_share: float = Field(default=0.10, ge=0, lt=1)
    contact_cap_per_week: int = Field(default=1, ge=1)
    weekly_discount_budget: float = Field(default=50_000.0, ge=0)
    margin_floor: float = Field(default=0.20, ge=0, lt=1)
    min_discount_pct: float = Field(default=5.0, ge=0)
    forecast_window_days: int = Field(default=56, ge=7)
    # Order lines read for favourite SKUs, consumable cycles and co-purchases.
    history_days: int = Field(default=365, ge=90)
    # Daily units per SKU read for the forecast's seasonality.
    season_history_days: int = Field(default=730, ge=90)
    channels: list[str] = Field(default_factory=lambda: ["email", "sms", "post"])
    exploration_floor: float = Field(default=0.05, ge=0, le=1)
    prior_strength: float = Field(default=20.0, gt=0)
    units_per_conversion: float = Field(default=1.0, gt=0)
    max_audience_per_campaign: int | None = Field(default=None, ge=1)
    manager_approval_audience: int = Field(default=5_000, ge=1)
    # A campaign pulling more than this share of the units a SKU can spare needs a manager too.
    manager_approval_stock_share: float = Field(default=0.5, gt=0, le=1)
    service_recovery: ServiceRecovery = Field(
        default_factory=lambda: ServiceRecovery(discount_pct=0.0, prior_uptake=0.15)
    )
    replenishment: Replenishment = Field(
        default_factory=lambda: Replenishment(discount_pct=5.0, prior_uptake=0.12)
    )
    on_the_brink: OnTheBrink = Field(
        default_factory=lambda: OnTheBrink(discount_pct=15.0, prior_uptake=0.06)
    )
    win_back: WinBack = Field(default_factory=lambda: WinBack(discount_pct=20.0, prior_uptake=0.03))
    first_to_repeat: FirstToRepeat = Field(
        default_factory=lambda: FirstToRepeat(discount_pct=10.0, prior_uptake=0.08)
    )
    cross_sell: CrossSell = Field(
        default_factory=lambda: CrossSell(discount_pct=10.0, prior_uptake=0.05)
    )
    loyalty: Loyalty = Field(default_factory=lambda: Loyalty(discount_pct=10.0, prior_uptake=0.10))

    def campaign(self, name: str) -> CampaignParams:
        return getattr(self, name)


class CampaignSettings(SQLModel, table=True):
    """The stored configuration: one row holding the changes from the defaults."""

    __tablename__ = "campaign_settings"

    id: int = SQLField(default=1, primary_key=True)
    settings_json: str = SQLField(sa_column=Column(Text, nullable=False))
    version: int = 1
    updated_at: datetime
    updated_by: str


def load_config(session: Session) -> CampaignConfig:
    """The stored configuration, or the defaults when nobody has changed anything."""
    row = session.get(CampaignSettings, 1)
    if row is None:
        return CampaignConfig()
    return CampaignConfig.model_validate(json.loads(row.settings_json))


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _plain_errors(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def update_config(
    *, session: Session, actor: Actor, changes: dict[str, Any], reason: str, now: datetime
) -> CampaignConfig:
    """Change some parameters (nested dicts for a campaign's own); validated, then audited."""
    require(actor, Permission.EDIT_SETTINGS)
    begin_write(session)
    if not reason or not reason.strip():
        raise InvalidInput("Changing the campaign settings needs a reason.")
    current = load_config(session)
    before = current.model_dump(mode="json")
    try:
        updated = CampaignConfig.model_validate(_merge(before, changes))
    except ValidationError as error:
        raise InvalidInput(f"Invalid campaign settings: {_plain_errors(error)}") from None
    after = updated.model_dump(mode="json")
    row = session.get(CampaignSettings, 1)
    if row is None:
        row = CampaignSettings(
            settings_json=json.dumps(after), updated_at=now, updated_by=actor.username
        )
    else:
        row.settings_json = json.dumps(after)
        row.version += 1
        row.updated_at = now
        row.updated_by = actor.username
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="campaign_settings.update",
        entity_type="campaign_settings",
        entity_id=1,
        before=before,
        after=after,
        reason=reason.strip(),
        now=now,
    )
    return updated
