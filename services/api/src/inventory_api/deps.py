"""Dependencies of the routes: the service, built once from settings (the composition root)."""

from __future__ import annotations

from functools import cache

from inventory_core.aws import AwsClientFactory

from inventory_api.adapters.dynamodb_reader import DynamoDbInventoryReader
from inventory_api.service import InventoryQueryService
from inventory_api.settings import ApiSettings


@cache
def query_service() -> InventoryQueryService:
    settings = ApiSettings()  # values come from the environment
    clients = AwsClientFactory(settings.aws_region)
    return InventoryQueryService(DynamoDbInventoryReader(clients.dynamodb_table(settings.app_table_name)))
