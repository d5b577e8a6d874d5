from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.items import ALL_ACCOUNTS_GSI1PK, ALL_RESOURCES_GSI1PK, account_pk, resource_sk, resource_sk_prefix

from inventory_api.ports import StoreError

# The grid's attributes only: keys, metadata and GSI attributes stay in the table.
_LIST_PROJECTION = (
    "resourceId, resourceArn, resourceType, accountId, #n, #r, #s, tags, lastDiscoveredAt, firstDiscoveredAt, "
    "discoveryStatus"
)
_LIST_NAMES = {"#n": "name", "#r": "region", "#s": "state"}


class DynamoDbInventoryReader:
    """TRD access patterns: all resources via GSI1, one account via the base table."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        try:
            while True:
                response = self._table.query(**kwargs)
                items.extend(response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    return items
                kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"inventory query failed: {exc}") from exc

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        projection = {"ProjectionExpression": _LIST_PROJECTION, "ExpressionAttributeNames": _LIST_NAMES}
        if account_id:
            return self._query_all(
                KeyConditionExpression=Key("pk").eq(account_pk(account_id))
                & Key("sk").begins_with(resource_sk_prefix()),
                **projection,
            )
        return self._query_all(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_RESOURCES_GSI1PK), **projection
        )

    def resource(self, account_id: str, resource_type: str, resource_arn: str) -> dict[str, Any] | None:
        try:
            response = self._table.get_item(
                Key={"pk": account_pk(account_id), "sk": resource_sk(resource_type, resource_arn)}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"resource read failed: {exc}") from exc
        item: dict[str, Any] | None = response.get("Item")
        return item

    def account_items(self) -> list[dict[str, Any]]:
        return self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_ACCOUNTS_GSI1PK))
