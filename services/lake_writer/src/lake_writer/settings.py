from __future__ import annotations

from inventory_core.settings import IcebergSettings
from pydantic import Field


class LakeWriterSettings(IcebergSettings):
    """Lake writer configuration, read from the environment."""

    commit_attempts: int = Field(default=8, ge=1, description="Tries of one batch commit against concurrent writers.")
    keep_snapshots: int = Field(
        default=100,
        ge=0,
        description="Snapshots each table keeps after a sweep with a local catalog (0 keeps all); S3 Tables "
        "expires snapshots itself, so this does not apply there.",
    )
