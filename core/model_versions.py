"""The model-version table: a trained model's artifact, metadata and metrics."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_versions"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    created_by: str
    as_of: date
    horizon_days: int
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    library_versions: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    data_window: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    metrics: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    beats_baselines: bool = False
    active: bool = Field(default=False, index=True)
    artifact_sha256: str
    artifact: bytes = Field(sa_column=Column(LargeBinary, nullable=False))

    def metrics_dict(self) -> dict[str, Any]:
        return json.loads(self.metrics)

    def window_dict(self) -> dict[str, Any]:
        return json.loads(self.data_window)
