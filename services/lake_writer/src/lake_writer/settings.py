from __future__ import annotations

from inventory_core.settings import IcebergSettings
from pydantic import Field


class LakeWriterSettings(IcebergSettings):
    """Lake writer configuration, read from the environment."""

    commit_attempts: int = Field(default=8, ge=1, description="Tries of one batch commit against concurrent writers.")
