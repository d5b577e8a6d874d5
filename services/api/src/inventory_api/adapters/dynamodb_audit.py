from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.dynamo import query_items

from inventory_api.ports import StoreError


def audit_pk(day: str) -> str:
    return f"AUDIT#{day}"


class DynamoDbAuditLog:
    """One item per action: pk=AUDIT#{yyyy-mm-dd}, sk={iso time}#{uuid}; put only if new (append-only)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def record(self, entry: Mapping[str, Any]) -> None:
        time = str(entry["time"])
        item = {"pk": audit_pk(time[:10]), "sk": f"{time}#{uuid.uuid4().hex}", **entry}
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"audit write failed: {exc}") from exc

    def read(self, day: str, limit: int, actions: Sequence[str] = ()) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(audit_pk(day)), "ScanIndexForward": False}
        items: list[dict[str, Any]] = []
        try:
            for item in query_items(self._table, **kwargs):
                if not actions or item.get("action") in actions:
                    items.append(item)
                    if len(items) >= limit:
                        break
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"audit read failed: {exc}") from exc
        return items[:limit]
