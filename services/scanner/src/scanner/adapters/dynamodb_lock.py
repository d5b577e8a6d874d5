from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.audit import audit_item, put_audit_item
from inventory_core.dynamo import condition_failed
from inventory_core.items import scan_history_keys, scan_pk
from inventory_core.timefmt import iso
from inventory_events import ScanRequested

from scanner.ports import LockResult

logger = logging.getLogger(__name__)

LOCK_SK = "SCAN"
STATUS_SK = "STATUS"


def lock_pk(account_id: str) -> str:
    """Partition key of an account's scan lock."""
    return f"LOCK#ACCOUNT#{account_id}"


class DynamoDbScanLock:
    """A conditional put: the lock is free, expired, or already ours. ``ttl`` lets DynamoDB delete stale locks."""

    def __init__(self, table: Any, *, now: Callable[[], float] = time.time) -> None:
        self._table = table
        self._now = now

    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> LockResult:
        now = int(self._now())
        expires_at = now + ttl_s
        try:
            answer = self._table.put_item(
                Item={
                    "pk": lock_pk(account_id),
                    "sk": LOCK_SK,
                    "executionId": execution_id,
                    "acquiredAt": now,
                    "expiresAt": expires_at,
                    "ttl": expires_at,
                },
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now OR executionId = :me",
                ExpressionAttributeValues={":now": now, ":me": execution_id},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            holder = self._table.get_item(Key={"pk": lock_pk(account_id), "sk": LOCK_SK}, ConsistentRead=True).get(
                "Item", {}
            )
            return LockResult(
                acquired=False,
                holder=str(holder.get("executionId")) if holder else None,
                expires_at=int(holder["expiresAt"]) if holder.get("expiresAt") is not None else None,
            )
        old = answer.get("Attributes") or {}
        stale = old.get("executionId")
        return LockResult(
            acquired=True,
            expires_at=expires_at,
            stale_holder=str(stale) if stale and stale != execution_id else None,
            stale_acquired_at=int(old["acquiredAt"])
            if stale and stale != execution_id and "acquiredAt" in old
            else None,
        )

    def release(self, account_id: str, execution_id: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": lock_pk(account_id), "sk": LOCK_SK},
                ConditionExpression="executionId = :me",
                ExpressionAttributeValues={":me": execution_id},
            )
        except ClientError as exc:
            # Someone took over an expired lock of ours: theirs now, not ours to delete.
            if not condition_failed(exc):
                raise


class DynamoDbScanLedger:
    """Writes the scan execution item with if_not_exists on every field, so it never overwrites its starter."""

    def __init__(self, table: Any, *, audit_table: Any | None = None) -> None:
        self._table = table
        self._audit_table = audit_table

    def started(self, request: ScanRequested, started_at: datetime, account_ids: Sequence[str]) -> None:
        fields = {
            "status": "in_progress",
            "startedAt": iso(started_at),
            "requestedBy": request.requested_by,
            "trigger": request.trigger,
            "accountIds": list(account_ids),
            "executionId": request.execution_id,
            # listed in the scan history (GSI1 TYPE#SCAN), newest first
            **scan_history_keys(iso(started_at), request.execution_id),
        }
        names = {f"#f{i}": key for i, key in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        update = ", ".join(f"#f{i} = if_not_exists(#f{i}, :v{i})" for i in range(len(fields)))
        self._table.update_item(
            Key={"pk": scan_pk(request.execution_id), "sk": STATUS_SK},
            UpdateExpression=f"SET {update}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        if self._audit_table is not None and request.shard is None and request.trigger != "api":
            # The API audits its own triggers (with the caller's IP); the schedule and the CLI are audited here.
            self._audit(
                audit_item(
                    at=started_at,
                    actor=request.requested_by or request.trigger,
                    role="system" if request.trigger == "schedule" else "operator",
                    action="sync",
                    parameters={
                        "trigger": request.trigger,
                        "executionId": request.execution_id,
                        "accountIds": list(account_ids),
                    },
                    outcome="started",
                    request_id=request.execution_id,
                ),
            )

    def _audit(self, item: dict[str, Any]) -> None:
        """Append the record; the scan goes on if the audit table fails, and the record is logged in full."""
        try:
            put_audit_item(self._audit_table, item)
        except (ClientError, BotoCoreError):
            logger.exception(
                "audit write failed", extra={"audit": {k: v for k, v in item.items() if k not in ("pk", "sk")}}
            )
