from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.dynamo import condition_failed
from inventory_core.items import ACCOUNT_PREFIX, ACCOUNT_SK, account_key

from inventory_api.ports import StoreError


class DynamoDbAccountStore:
    """Account items of the single table; every write is conditional on the item's existence."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, account_id: str) -> dict[str, Any] | None:
        try:
            item: dict[str, Any] | None = self._table.get_item(Key=account_key(account_id), ConsistentRead=True).get(
                "Item"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"account read failed: {exc}") from exc
        return item

    def create(self, item: Mapping[str, Any]) -> bool:
        try:
            self._table.put_item(Item=dict(item), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise StoreError(f"account write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"account write failed: {exc}") from exc
        return True

    def update(self, account_id: str, sets: Mapping[str, Any], removes: Sequence[str]) -> dict[str, Any] | None:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        set_parts = []
        for i, (name, value) in enumerate(sets.items()):
            names[f"#s{i}"] = name
            values[f":s{i}"] = value
            set_parts.append(f"#s{i} = :s{i}")
        remove_parts = []
        for i, name in enumerate(n for n in dict.fromkeys(removes) if n not in sets):
            names[f"#r{i}"] = name
            remove_parts.append(f"#r{i}")
        expression = " ".join(
            part
            for part in (
                f"SET {', '.join(set_parts)}" if set_parts else "",
                f"REMOVE {', '.join(remove_parts)}" if remove_parts else "",
            )
            if part
        )
        kwargs: dict[str, Any] = {
            "Key": account_key(account_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            attributes: dict[str, Any] = self._table.update_item(**kwargs)["Attributes"]
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise StoreError(f"account update failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"account update failed: {exc}") from exc
        return attributes

    def delete(self, account_id: str) -> dict[str, Any] | None:
        try:
            old: dict[str, Any] = self._table.delete_item(
                Key=account_key(account_id), ConditionExpression="attribute_exists(pk)", ReturnValues="ALL_OLD"
            )["Attributes"]
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise StoreError(f"account delete failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"account delete failed: {exc}") from exc
        return old

    def unindexed(self) -> list[dict[str, Any]]:
        """A filtered Scan of the whole table: an operator's one-off repair, never on a request path."""
        kwargs: dict[str, Any] = {
            "FilterExpression": Attr("sk").eq(ACCOUNT_SK)
            & Attr("pk").begins_with(ACCOUNT_PREFIX)
            & Attr("gsi1pk").not_exists(),
        }
        found: list[dict[str, Any]] = []
        try:
            while True:
                page = self._table.scan(**kwargs)
                found.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return found
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"account scan failed: {exc}") from exc
