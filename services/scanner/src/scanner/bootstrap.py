"""Composition root of the scanner: the only place that builds real adapters."""

from __future__ import annotations

from functools import cache

from inventory_core.aws import AwsClientFactory
from inventory_core.publisher import SnsEventPublisher

from scanner.adapters.accounts import DynamoDbAccountDirectory
from scanner.adapters.aws_session import StsSessionProvider
from scanner.catalog import CATALOG
from scanner.service import ScanOptions, ScanService
from scanner.settings import ScannerSettings


def build_service(settings: ScannerSettings, clients: AwsClientFactory | None = None) -> ScanService:
    clients = clients or AwsClientFactory(settings.aws_region)
    table = clients.dynamodb_table(settings.app_table_name)
    return ScanService(
        DynamoDbAccountDirectory(table),
        StsSessionProvider(clients, settings.role_name),
        SnsEventPublisher(clients.client("sns"), settings.events_topic_arn),
        ScanOptions(
            regions=settings.inventory_regions,
            specs=CATALOG,
            max_workers=settings.max_workers,
            max_accounts=settings.max_accounts,
            page_max_bytes=settings.page_max_bytes,
            page_max_items=settings.page_max_items,
        ),
    )


@cache
def default_service() -> ScanService:
    return build_service(ScannerSettings())  # values come from the environment
