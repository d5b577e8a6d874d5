"""Composition root of the projector."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from inventory_core.aws import AwsClientFactory

from ddb_projector.adapters.dynamodb_markers import DynamoDbProcessedEvents
from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore
from ddb_projector.adapters.emf_metrics import EmfProjectorMetrics
from ddb_projector.adapters.grid_snapshot import DynamoDbGridSource, S3SnapshotStore
from ddb_projector.service import ProjectorOptions, ProjectorService
from ddb_projector.settings import ProjectorSettings
from ddb_projector.snapshot import SnapshotPublisher


def build_publisher(settings: ProjectorSettings, clients: AwsClientFactory) -> SnapshotPublisher | None:
    if not settings.inventory_bucket:
        return None
    return SnapshotPublisher(
        DynamoDbGridSource(clients.dynamodb_table(settings.app_table_name)),
        S3SnapshotStore(clients.client("s3"), settings.inventory_bucket),
        interval=timedelta(seconds=settings.snapshot_interval_s),
        full_every=timedelta(hours=settings.snapshot_full_every_h),
    )


def build_service(settings: ProjectorSettings, clients: AwsClientFactory | None = None) -> ProjectorService:
    clients = clients or AwsClientFactory(settings.aws_region)
    table = clients.dynamodb_table(settings.app_table_name)
    return ProjectorService(
        DynamoDbResourceStore(table, retention=timedelta(days=settings.missing_retention_days)),
        processed=DynamoDbProcessedEvents(table),
        metrics=EmfProjectorMetrics(settings.metrics_namespace),
        options=ProjectorOptions(
            marker_retention=timedelta(days=settings.processed_marker_days),
            count_delta_threshold_pct=settings.count_delta_threshold_pct,
        ),
        snapshots=build_publisher(settings, clients),
    )


@cache
def default_service() -> ProjectorService:
    return build_service(ProjectorSettings())  # values come from the environment
