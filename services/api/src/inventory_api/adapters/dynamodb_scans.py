from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.dynamo import query_items
from inventory_core.items import account_lock_key, scan_pk, scan_status_key, sync_lock_key
from inventory_core.table_lock import ItemLock

from inventory_api.ports import StoreError


class DynamoDbScanStore:
    """Scan executions (``SCAN#{id}``) and the API's sync locks (``ACCOUNT#{id}``/``SYNC#RUNNING``) in the single
    table; it also reads the scanner's own account lock. Locks are ``inventory_core.table_lock`` items."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._locks = ItemLock(table)

    def acquire_sync_lock(self, account_id: str, execution_id: str, expires_at: int, now: int) -> str | None:
        try:
            attempt = self._locks.acquire(sync_lock_key(account_id), execution_id, now=now, expires_at=expires_at)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"sync lock of {account_id} failed: {exc}") from exc
        if attempt.acquired:
            return None
        # Released between our write and the read: report the holder as unknown-but-finished.
        return str(attempt.item["executionId"]) if attempt.item else ""

    def release_sync_lock(self, account_id: str, execution_id: str) -> None:
        try:
            self._locks.release(sync_lock_key(account_id), execution_id)
        except ClientError as exc:
            raise StoreError(f"sync lock release of {account_id} failed: {exc}") from exc

    def steal_sync_lock(self, account_id: str, stale_execution_id: str, execution_id: str, expires_at: int) -> bool:
        try:
            return self._locks.take_over(
                sync_lock_key(account_id), stale_execution_id, execution_id, expires_at=expires_at
            )
        except ClientError as exc:
            raise StoreError(f"sync lock of {account_id} failed: {exc}") from exc

    def scanner_lock(self, account_id: str, now: int) -> str | None:
        try:
            item = self._locks.holding(account_lock_key(account_id), consistent=False)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scanner lock read failed: {exc}") from exc
        return self._locks.holder_of(item, now=now)

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
                Key=scan_status_key(execution_id),
                UpdateExpression=f"SET {sets}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan execution write failed: {exc}") from exc

    def fail_execution(self, execution_id: str, reason: str, at: str) -> None:
        try:
            self._table.update_item(
                Key=scan_status_key(execution_id),
                UpdateExpression="SET #s = :s, completedAt = :at, #e = :e",
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={":s": "failed", ":at": at, ":e": reason},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan execution write failed: {exc}") from exc
