from __future__ import annotations

from inventory_core.settings import TableSettings
from inventory_core.topology import METRICS_NAMESPACE
from pydantic import Field


class ProjectorSettings(TableSettings):
    """DynamoDB projector configuration, read from the environment."""

    missing_retention_days: int = Field(default=30, ge=1, description="Days a missing resource is kept (ttl).")
    processed_marker_days: int = Field(
        default=15, ge=1, description="Days an event_id marker is kept: longer than queue plus DLQ retention."
    )
    count_delta_threshold_pct: float = Field(
        default=20.0, gt=0, description="Percent move of an account's resource count that emits ResourceCountDelta."
    )
    metrics_namespace: str = Field(default=METRICS_NAMESPACE, min_length=1, description="CloudWatch namespace.")
    # The grid snapshot (inventory_core.grid) goes to readmodel/ in this bucket; unset = not published (the API
    # then reads the table on a cold start).
    inventory_bucket: str | None = Field(default=None, description="Bucket of the grid snapshot (INVENTORY_BUCKET).")
    snapshot_interval_s: float = Field(default=60.0, gt=0, description="Publish at most this often while pages land.")
    snapshot_full_every_h: float = Field(default=24.0, gt=0, description="Rebuild from a full table read this often.")
