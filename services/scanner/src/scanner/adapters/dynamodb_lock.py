from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.audit import audit_item, put_audit_item
from inventory_core.items import ScanStatusItem, account_lock_key, scan_status_key
from inventory_core.table_lock import ItemLock
from inventory_core.timefmt import iso
from inventory_events import ScanRequested

from scanner.ports import LockResult

logger = logging.getLogger(__name__)


class DynamoDbScanLock:
    """The account's lock item (``inventory_core.table_lock``): free, expired, or already ours (a renewal)."""

    def __init__(self, table: Any, *, now: Callable[[], float] = time.time) -> None:
        self._lock = ItemLock(table)
        self._now = now

    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> LockResult:
        now = int(self._now())
        expires_at = now + ttl_s
        attempt = self._lock.acquire(
            account_lock_key(account_id),
            execution_id,
            now=now,
            expires_at=expires_at,
            reentrant=True,
            attributes={"acquiredAt": now},
        )
        if not attempt.acquired:
            holder = attempt.item or {}
            return LockResult(
                acquired=False,
                holder=str(holder.get("executionId")) if holder else None,
                expires_at=int(holder["expiresAt"]) if holder.get("expiresAt") is not None else None,
            )
        old = attempt.item or {}
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
        # False when someone took over an expired lock of ours: theirs now, not ours to delete
        self._lock.release(account_lock_key(account_id), execution_id)


class DynamoDbScanLedger:
    """Writes the scan execution item with if_not_exists on every field, so it never overwrites its starter."""

    def __init__(self, table: Any, *, audit_table: Any | None = None) -> None:
        self._table = table
        self._audit_table = audit_table

    def started(self, request: ScanRequested, started_at: datetime, account_ids: Sequence[str]) -> None:
        # listed in the scan history (GSI1 TYPE#SCAN), newest first
        fields = ScanStatusItem(
            execution_id=request.execution_id,
            started_at=iso(started_at),
            requested_by=request.requested_by,
            trigger=request.trigger,
            account_ids=tuple(account_ids),
        ).attributes()
        names = {f"#f{i}": key for i, key in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        update = ", ".join(f"#f{i} = if_not_exists(#f{i}, :v{i})" for i in range(len(fields)))
        self._table.update_item(
            Key=scan_status_key(request.execution_id),
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
