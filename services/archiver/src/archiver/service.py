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

from archiver.ports import ArchiverMetrics, ObjectStore, UploadError

logger = logging.getLogger(__name__)

#: The key the scanner puts in place of a raw item it stored aside (claim check).
CLAIM_CHECK_KEY = "_claim_check"


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


def claim_key_of(address: str) -> str:
    """The object key of a claim check ``s3://bucket/claims/...`` (claims live in the inventory bucket)."""
    return address.split("/", 3)[3] if address.startswith("s3://") and address.count("/") >= 3 else address


class ArchiverService:
    """Writes the raw API answers of each account scan to S3."""

    def __init__(self, store: ObjectStore, metrics: ArchiverMetrics | None = None) -> None:
        self._store = store
        self._metrics = metrics

    def _put(self, key: str, document: Any) -> None:
        try:
            self._store.put_json(key, document)
        except UploadError:
            if self._metrics:
                self._metrics.upload_failed(key)
            logger.error("upload failed after retries; the message goes back to the queue", extra={"key": key})
            raise

    def handle(self, event: AnyEvent) -> None:
        match event:
            case ResourcesDiscovered():
                self._put(
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

    def _resolve_claim(self, raw: Any, missing: list[str]) -> Any:
        """An item too large for a message was stored aside by the scanner; the archive holds the item itself."""
        if not (isinstance(raw, dict) and set(raw) == {CLAIM_CHECK_KEY}):
            return raw
        key = claim_key_of(str(raw[CLAIM_CHECK_KEY]))
        claimed = self._store.get_json(key)
        if claimed is None:
            missing.append(key)
        return claimed

    def _assemble(self, event: AccountScanCompleted) -> None:
        if not event.scopes:
            # A failed AssumeRole or an abandoned scan saw nothing: there is no raw answer to keep, and an
            # empty document must not replace a good one of the same day.
            logger.info("nothing to archive", extra={"account_id": event.account_id, "status": event.status})
            return
        doc_key = raw_key(event)
        existing = self._store.get_json(doc_key)
        if existing and str(existing.get("scanStartedAt", "")) > event.scan_started_at.isoformat():
            logger.info("a newer scan of the day is archived already", extra={"key": doc_key})
            return
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
                    raw = self._resolve_claim(item["raw"], missing)
                    regions.setdefault(region, {}).setdefault(summary.scope.resource_type, []).append(raw)
        if missing:
            raise PagesPendingError(f"{len(missing)} pages or claims of account {event.account_id} not staged yet")
        document = {
            "accountId": event.account_id,
            "executionId": event.execution_id,
            "scanStartedAt": event.scan_started_at.isoformat(),
            "status": event.status,
            "resourceCount": event.resource_count,
            "failedScopes": [s.model_dump() for s in event.failed_scopes],
            "regions": regions,
        }
        self._put(doc_key, document)
        logger.info("raw document written", extra={"key": doc_key, "resources": event.resource_count})
