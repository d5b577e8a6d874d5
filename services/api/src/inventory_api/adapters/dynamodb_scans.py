from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.dynamo import condition_failed, query_items
from inventory_core.items import account_pk, scan_pk

from inventory_api.ports import StoreError

SYNC_LOCK_SK = "SYNC#RUNNING"


def scanner_lock_pk(account_id: str) -> str:
    """The scanner's own per-account lock (pk=LOCK#ACCOUNT#{id}, sk=SCAN), held while it scans."""
    return f"LOCK#ACCOUNT#{account_id}"


class DynamoDbScanStore:
    """Scan executions (pk=SCAN#{id}) and sync locks (pk=ACCOUNT#{id}, sk=SYNC#RUNNING) in the single table."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def acquire_sync_lock(self, account_id: str, execution_id: str, expires_at: int, now: int) -> str | None:
        key = {"pk": account_pk(account_id), "sk": SYNC_LOCK_SK}
        try:
            self._table.put_item(
                Item={**key, "executionId": execution_id, "expiresAt": expires_at, "ttl": expires_at},
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": now},
            )
            return None
        except ClientError as exc:
            if not condition_failed(exc):
                raise StoreError(f"sync lock of {account_id} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"sync lock of {account_id} failed: {exc}") from exc
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        # Released between our write and this read: report the holder as unknown-but-finished.
        return str(item["executionId"]) if item else ""

    def release_sync_lock(self, account_id: str, execution_id: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": account_pk(account_id), "sk": SYNC_LOCK_SK},
                ConditionExpression="executionId = :e",
                ExpressionAttributeValues={":e": execution_id},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise StoreError(f"sync lock release of {account_id} failed: {exc}") from exc

    def steal_sync_lock(self, account_id: str, stale_execution_id: str, execution_id: str, expires_at: int) -> bool:
        key = {"pk": account_pk(account_id), "sk": SYNC_LOCK_SK}
        try:
            self._table.put_item(
                Item={**key, "executionId": execution_id, "expiresAt": expires_at, "ttl": expires_at},
                ConditionExpression="attribute_not_exists(pk) OR executionId = :stale",
                ExpressionAttributeValues={":stale": stale_execution_id},
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise StoreError(f"sync lock of {account_id} failed: {exc}") from exc

    def scanner_lock(self, account_id: str, now: int) -> str | None:
        try:
            item = self._table.get_item(Key={"pk": scanner_lock_pk(account_id), "sk": "SCAN"}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scanner lock read failed: {exc}") from exc
        if not item or int(item.get("expiresAt", 0)) < now or not item.get("executionId"):
            return None
        return str(item["executionId"])

    def execution_items(self, execution_id: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(scan_pk(execution_id))}
        try:
            return list(query_items(self._table, **kwargs))
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan execution read failed: {exc}") from exc

    def start_execution(self, execution_id: str, item: Mapping[str, Any]) -> None:
        names = {f"#a{i}": name for i, name in enumerate(item)}
        values = {f":v{i}": value for i, value in enumerate(item.values())}
        sets = ", ".join(f"#a{i} = if_not_exists(#a{i}, :v{i})" for i in range(len(item)))
        try:
            self._table.update_item(
                Key={"pk": scan_pk(execution_id), "sk": "STATUS"},
                UpdateExpression=f"SET {sets}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan execution write failed: {exc}") from exc

    def fail_execution(self, execution_id: str, reason: str, at: str) -> None:
        try:
            self._table.update_item(
                Key={"pk": scan_pk(execution_id), "sk": "STATUS"},
                UpdateExpression="SET #s = :s, completedAt = :at, #e = :e",
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={":s": "failed", ":at": at, ":e": reason},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan execution write failed: {exc}") from exc
