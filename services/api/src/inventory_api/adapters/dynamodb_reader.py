from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from inventory_core.items import ALL_ACCOUNTS_GSI1PK, ALL_RESOURCES_GSI1PK, Account, account_pk, resource_sk_prefix


class DynamoDbInventoryReader:
    """TRD access patterns: all resources via GSI1, one account via the base table."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        if account_id:
            return self._query_all(
                KeyConditionExpression=Key("pk").eq(account_pk(account_id))
                & Key("sk").begins_with(resource_sk_prefix())
            )
        return self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_RESOURCES_GSI1PK))

    def accounts(self) -> list[Account]:
        items = self._query_all(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_ACCOUNTS_GSI1PK))
        return [Account.from_item(i) for i in items]
