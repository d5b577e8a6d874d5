from __future__ import annotations

from inventory_core.settings import TableSettings
from pydantic import Field


class ProjectorSettings(TableSettings):
    """DynamoDB projector configuration, read from the environment."""

    missing_retention_days: int = Field(default=30, ge=1, description="Days a missing resource is kept (ttl).")
