"""Scan history: the executions newest first, whatever triggered them (API, schedule, CLI)."""

from __future__ import annotations

import base64
import binascii
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from inventory_core.items import ScanStatusItem, execution_id_of, scan_account_items

from inventory_api.ports import ScanHistory
from inventory_api.schemas import SyncExecutionSummary, SyncHistoryPage

ACCOUNT_DONE = ("success", "partial", "failed")
_TOKEN_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})  # the history index's key


class InvalidTokenError(ValueError):
    """The nextToken was not issued by this list (HTTP 422)."""


def encode_token(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidTokenError("nextToken is not a token this list issued") from exc
    if not isinstance(key, dict) or set(key) != _TOKEN_KEYS or not all(isinstance(v, str) for v in key.values()):
        raise InvalidTokenError("nextToken is not a token this list issued")
    return key


def summarize(status_item: dict[str, Any], items: list[dict[str, Any]]) -> SyncExecutionSummary:
    """One execution's row: totals from its STATUS item, per-account progress from its ACCOUNT# items."""
    status = ScanStatusItem.from_item(status_item)
    accounts = list(scan_account_items(items).values())
    account_ids = set(status.account_ids or ()) | {a.account_id for a in accounts}
    resource_count = status.resource_count
    if resource_count is None and accounts:
        resource_count = sum(a.resource_count or 0 for a in accounts)
    return SyncExecutionSummary(
        executionId=status.execution_id,
        trigger=status.trigger,
        requestedBy=status.requested_by,
        startedAt=status.started_at,
        finishedAt=status.completed_at,
        status=status.status,
        accountsTotal=len(account_ids),
        accountsCompleted=sum(1 for a in accounts if a.status in ACCOUNT_DONE),
        resourceCount=resource_count,
        failedScopes=sum(a.scopes_failed for a in accounts),
    )


class ScanHistoryService:
    def __init__(self, history: ScanHistory, *, parallelism: int = 8) -> None:
        self._history = history
        self._parallelism = parallelism

    def page(self, limit: int, next_token: str | None) -> SyncHistoryPage:
        try:
            status_items, last = self._history.page(limit, decode_token(next_token))
        except InvalidTokenError:
            raise
        except ValueError as exc:  # the store refused the start key
            raise InvalidTokenError(str(exc)) from exc
        ids = [execution_id_of(str(i["pk"])) for i in status_items]
        with ThreadPoolExecutor(max_workers=min(self._parallelism, max(1, len(ids)))) as pool:
            partitions = list(pool.map(self._history.execution_items, ids))
        return SyncHistoryPage(
            items=[summarize(s, p) for s, p in zip(status_items, partitions, strict=True)],
            nextToken=encode_token(last),
        )
