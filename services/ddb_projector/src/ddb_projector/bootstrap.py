"""Composition root of the projector."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from inventory_core.aws import AwsClientFactory

from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore
from ddb_projector.service import ProjectorService
from ddb_projector.settings import ProjectorSettings


def build_service(settings: ProjectorSettings, clients: AwsClientFactory | None = None) -> ProjectorService:
    clients = clients or AwsClientFactory(settings.aws_region)
    table = clients.dynamodb_table(settings.app_table_name)
    return ProjectorService(DynamoDbResourceStore(table), retention=timedelta(days=settings.missing_retention_days))


@cache
def default_service() -> ProjectorService:
    return build_service(ProjectorSettings())  # values come from the environment
