"""Composition root of the archiver."""

from __future__ import annotations

from functools import cache

from inventory_core.aws import AwsClientFactory

from archiver.adapters.emf_metrics import EmfArchiverMetrics
from archiver.adapters.s3_store import S3ObjectStore
from archiver.service import ArchiverService
from archiver.settings import ArchiverSettings


def build_service(settings: ArchiverSettings, clients: AwsClientFactory | None = None) -> ArchiverService:
    clients = clients or AwsClientFactory(settings.aws_region)
    return ArchiverService(
        S3ObjectStore(clients.client("s3"), settings.inventory_bucket, attempts=settings.upload_attempts),
        EmfArchiverMetrics(settings.metrics_namespace),
        merge_attempts=settings.merge_attempts,
    )


@cache
def default_service() -> ArchiverService:
    return build_service(ArchiverSettings())  # values come from the environment
