from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.dynamo import query_items
from inventory_core.items import ALL_SCANS_GSI1PK, scan_pk

from inventory_api.ports import StoreError


class DynamoDbScanHistory:
    """Scan executions newest first: their STATUS items carry gsi1pk=TYPE#SCAN, gsi1sk={startedAt}#{id}."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def page(self, limit: int, start: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(ALL_SCANS_GSI1PK),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = dict(start)
        try:
            response = self._table.query(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException" and start:
                raise ValueError("nextToken does not continue this list") from exc
            raise StoreError(f"scan history read failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"scan history read failed: {exc}") from exc
        items: list[dict[str, Any]] = response.get("Items", [])
        return items, response.get("LastEvaluatedKey")

    def execution_items(self, execution_id: str) -> list[dict[str, Any]]:
        try:
            return list(query_items(self._table, KeyConditionExpression=Key("pk").eq(scan_pk(execution_id))))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan execution read failed: {exc}") from exc
