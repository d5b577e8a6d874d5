from __future__ import annotations

from inventory_core.settings import BucketSettings
from inventory_core.topology import METRICS_NAMESPACE
from pydantic import Field


class ArchiverSettings(BucketSettings):
    """Archiver configuration, read from the environment."""

    upload_attempts: int = Field(default=3, ge=1, description="Tries of one S3 upload before the message fails.")
    merge_attempts: int = Field(
        default=8, ge=1, description="Conditional writes of the day's document tried before the message fails."
    )
    metrics_namespace: str = Field(default=METRICS_NAMESPACE, min_length=1, description="CloudWatch namespace.")
