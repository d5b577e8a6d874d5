from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from inventory_core.dynamo import query_items
from inventory_core.items import ALL_ACCOUNTS_GSI1PK, Account


class DynamoDbAccountDirectory:
    """Reads Account items through GSI1 (``gsi1pk=TYPE#ACCOUNT``), no table scan."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def all_accounts(self) -> list[Account]:
        items = query_items(self._table, IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_ACCOUNTS_GSI1PK))
        return sorted((Account.from_item(i) for i in items), key=lambda a: a.account_id)

    def enabled_accounts(self, account_ids: Sequence[str] | None) -> list[Account]:
        wanted = set(account_ids) if account_ids else None
        return [a for a in self.all_accounts() if a.sync_enabled and (wanted is None or a.account_id in wanted)]
