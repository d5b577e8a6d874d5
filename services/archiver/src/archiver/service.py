"""Raw archive: stage each page, assemble one document per account per day when the account is done."""

from __future__ import annotations

import logging
from typing import Any, assert_never

from inventory_events import (
    AccountScanCompleted,
    AnyEvent,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    Scope,
    ScopeCompleted,
)

from archiver.ports import ObjectStore

logger = logging.getLogger(__name__)


class PagesPendingError(RuntimeError):
    """AccountScanCompleted arrived before all pages were staged; the message is retried later."""


class UnexpectedEventError(ValueError):
    """An event type this consumer is not subscribed to."""


def staging_key(execution_id: str, scope: Scope, page: int) -> str:
    """Where a page's raw items wait for their account to finish."""
    return f"staging/{execution_id}/{scope.account_id}/{scope.region}/{scope.resource_type}/page-{page:05d}.json"


def raw_key(event: AccountScanCompleted) -> str:
    """TRD section 3.3: raw/year=YYYY/month=MM/day=DD/{accountId}/inventory.json (day of the scan start)."""
    day = event.scan_started_at
    return f"raw/year={day:%Y}/month={day:%m}/day={day:%d}/{event.account_id}/inventory.json"


class ArchiverService:
    """Writes the raw API answers of each account scan to S3."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def handle(self, event: AnyEvent) -> None:
        match event:
            case ResourcesDiscovered():
                self._store.put_json(
                    staging_key(event.execution_id, event.scope, event.page),
                    {
                        "region": event.scope.region,
                        "resourceType": event.scope.resource_type,
                        "items": [
                            {"resourceArn": r.resource_arn, "region": r.region, "raw": r.raw} for r in event.resources
                        ],
                    },
                )
            case AccountScanCompleted():
                self._assemble(event)
            case ScopeCompleted() | ScanCompleted() | ScanRequested():
                raise UnexpectedEventError(f"the archiver does not consume {event.event_type}")
            case _:
                assert_never(event)

    def _assemble(self, event: AccountScanCompleted) -> None:
        regions: dict[str, dict[str, list[Any]]] = {}
        missing: list[str] = []
        for summary in event.scopes:
            for page in range(1, summary.page_count + 1):
                key = staging_key(event.execution_id, summary.scope, page)
                staged = self._store.get_json(key)
                if staged is None:
                    missing.append(key)
                    continue
                for item in staged["items"]:
                    # Global types (S3) are filed under each bucket's own region.
                    region = item.get("region") or summary.scope.region
                    regions.setdefault(region, {}).setdefault(summary.scope.resource_type, []).append(item["raw"])
        if missing:
            raise PagesPendingError(f"{len(missing)} pages of account {event.account_id} not staged yet")
        document = {
            "accountId": event.account_id,
            "executionId": event.execution_id,
            "scanStartedAt": event.scan_started_at.isoformat(),
            "status": event.status,
            "resourceCount": event.resource_count,
            "failedScopes": [s.model_dump() for s in event.failed_scopes],
            "regions": regions,
        }
        key = raw_key(event)
        self._store.put_json(key, document)
        logger.info("raw document written", extra={"key": key, "resources": event.resource_count})
