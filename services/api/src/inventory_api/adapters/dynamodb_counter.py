from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.items import rate_limit_key

from inventory_api.ports import StoreError


class DynamoDbCounterStore:
    """Rate-limit counters shared by every API instance: one atomic ADD per request, expired by TTL."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def hit(self, key: str, window: int, expires_at: int) -> int:
        try:
            response = self._table.update_item(
                Key=rate_limit_key(key, window),
                UpdateExpression="ADD hits :one SET #ttl = :ttl",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":one": 1, ":ttl": expires_at},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"rate limit counter failed: {exc}") from exc
        return int(response["Attributes"]["hits"])
