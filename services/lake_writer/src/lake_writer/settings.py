from __future__ import annotations

from inventory_core.settings import IcebergSettings
from pydantic import Field


class LakeWriterSettings(IcebergSettings):
    """Lake writer configuration, read from the environment."""

    commit_attempts: int = Field(default=8, ge=1, description="Tries of one batch commit against concurrent writers.")
    keep_snapshots: int = Field(
        default=20,
        ge=0,
        description="Snapshots each table keeps after a sweep with a local catalog (0 keeps all); S3 Tables "
        "expires snapshots itself, so this does not apply there. Every metadata update of a commit deep-copies "
        "the snapshot list (a third of a batch's time with 100-150 kept), so keep few.",
    )
    orphan_age_s: float = Field(
        default=900.0,
        ge=0,
        description="With a local catalog, snapshot expiry also deletes files no snapshot references (a lost "
        "commit's, a merged-away manifest) once they are this old: older than any commit still in flight.",
    )
