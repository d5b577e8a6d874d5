from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.dynamo import query_items
from inventory_core.items import (
    ALL_ACCOUNTS_GSI1PK,
    account_id_of_item,
    account_key,
    account_pk,
    resource_key,
    resource_sk_prefix,
)
from inventory_core.retry import RetryPolicy

from inventory_api.ports import StoreError

logger = logging.getLogger(__name__)
#: BatchGetItem keys DynamoDB left unprocessed (throttled) are asked for again.
_UNPROCESSED_RETRY = RetryPolicy(attempts=8, base_s=0.05, max_s=5.0, logger=logger)

# The grid's attributes only: keys, metadata and GSI attributes stay in the table.
_LIST_PROJECTION = (
    "resourceId, resourceArn, resourceType, accountId, #n, #r, #s, tags, lastDiscoveredAt, firstDiscoveredAt, "
    "discoveryStatus"
)
_LIST_NAMES = {"#n": "name", "#r": "region", "#s": "state"}


class DynamoDbInventoryReader:
    """TRD access patterns: all resources via GSI1, one account via the base table."""

    def __init__(self, table: Any, *, parallelism: int = 8) -> None:
        self._table = table
        self._parallelism = parallelism

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        try:
            return list(query_items(self._table, **kwargs))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"inventory query failed: {exc}") from exc

    def _account_resources(self, account_id: str) -> list[dict[str, Any]]:
        """One account's partition through the table's client (thread-safe, unlike the resource object).

        That client is the resource layer's: it takes and returns plain Python values.
        """
        client = self._table.meta.client
        kwargs: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
            "ExpressionAttributeValues": {":pk": account_pk(account_id), ":sk": resource_sk_prefix()},
            "ProjectionExpression": _LIST_PROJECTION,
            "ExpressionAttributeNames": _LIST_NAMES,
        }
        try:
            return list(query_items(client, **kwargs))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"inventory query of {account_id} failed: {exc}") from exc

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        """All resources of the registered accounts, or of one account.

        The whole inventory is read partition by partition, in parallel (one base-table query per
        registered account), rather than through GSI1's single TYPE#INVENTORY partition: DynamoDB
        serves many partitions at once, and one hot GSI partition cannot be split. Resources whose
        account is no longer registered are not listed.
        """
        if account_id:
            return self._account_resources(account_id)
        account_ids = sorted({account_id_of_item(i) for i in self.account_items()})
        with ThreadPoolExecutor(max_workers=min(self._parallelism, max(1, len(account_ids)))) as pool:
            return [item for part in pool.map(self._account_resources, account_ids) for item in part]

    def resource(self, account_id: str, resource_type: str, resource_arn: str) -> dict[str, Any] | None:
        try:
            response = self._table.get_item(Key=resource_key(account_id, resource_type, resource_arn))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"resource read failed: {exc}") from exc
        item: dict[str, Any] | None = response.get("Item")
        return item

    def accounts_by_id(self, account_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Account items by key (BatchGetItem): unlike the GSI query, its cost does not grow with the table."""
        keys = [account_key(a) for a in dict.fromkeys(account_ids)]
        client, found = self._table.meta.client, []
        try:
            for start in range(0, len(keys), 100):
                request: dict[str, Any] = {self._table.name: {"Keys": keys[start : start + 100]}}
                for _ in _UNPROCESSED_RETRY.rounds("BatchGetItem"):
                    response = client.batch_get_item(RequestItems=request)
                    found += response.get("Responses", {}).get(self._table.name, [])
                    request = response.get("UnprocessedKeys") or {}
                    if not request:
                        break
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"account read failed: {exc}") from exc
        return found

    def account_items(self) -> list[dict[str, Any]]:
        return self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_ACCOUNTS_GSI1PK))
