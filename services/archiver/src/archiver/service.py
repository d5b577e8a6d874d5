"""Raw archive: stage each page; when an account is done, merge its scan into that day's document of the account.

The day's document is the union of the day's scans scope by scope (see ``archiver.document``). The merge is a
read, merge, conditional write (If-Match on the ETag read, If-None-Match for a new document) retried on
conflict, so two writers of one document never lose each other's scopes.

An AccountScanCompleted that arrives before all its pages are staged is parked, not failed (a failed record
would wait for the queue's visibility timeout, 120 s in AWS): it is written next to the staged pages, and the
page that completes the set assembles the account. Both sides write, then check (the completion parks, then
lists the staged pages; a page stages, then reads the parked completion), and S3 reads and listings are strongly
consistent, so of a racing completion and last page at least one sees both. Both may assemble: the merge is
idempotent (a document that holds the scan is left as it is) and its write conditional.

Staged pages are not deleted after the merge: the bucket's lifecycle expires ``staging/`` after 7 days. Deleting
them here would save little (a day's scan stages about 19 MB per 10,000 resources: cents a year) and would cost
the idempotency the pipeline leans on: a redelivered AccountScanCompleted, or the second of a racing completion
and last page, would find its pages gone and fail into the DLQ instead of finding the document merged already.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, assert_never

from inventory_core.retry import RetryPolicy
from inventory_events import (
    AccountScanCompleted,
    AnyEvent,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    Scope,
    ScopeCompleted,
)
from pydantic import ValidationError

from archiver.document import CorruptDocumentError, DayDocument, ExecutionEntry, ScopeEntry
from archiver.ports import ArchiverMetrics, ObjectStore, UploadError, WriteConflictError

logger = logging.getLogger(__name__)

#: The key the scanner puts in place of a raw item it stored aside (claim check).
CLAIM_CHECK_KEY = "_claim_check"


class PagesPendingError(RuntimeError):
    """All pages of an account are staged but a claim check they name is not there; the message is retried."""


class UnexpectedEventError(ValueError):
    """An event type this consumer is not subscribed to."""


def staging_key(execution_id: str, scope: Scope, page: int) -> str:
    """Where a page's raw items wait for their account to finish."""
    return f"staging/{execution_id}/{scope.account_id}/{scope.region}/{scope.resource_type}/page-{page:05d}.json"


def account_staging_prefix(execution_id: str, account_id: str) -> str:
    """Everything staged for one account of one scan: its pages and, if it came first, its parked completion."""
    return f"staging/{execution_id}/{account_id}/"


def parked_key(execution_id: str, account_id: str) -> str:
    """Where an AccountScanCompleted that came before its pages waits for them."""
    return f"{account_staging_prefix(execution_id, account_id)}completion.json"


def expected_pages(event: AccountScanCompleted) -> set[str]:
    """The staging keys of every page the completion counts."""
    return {
        staging_key(event.execution_id, summary.scope, page)
        for summary in event.scopes
        for page in range(1, summary.page_count + 1)
    }


def raw_key(event: AccountScanCompleted) -> str:
    """TRD section 3.3: raw/year=YYYY/month=MM/day=DD/{accountId}/inventory.json (day of the scan start)."""
    day = event.scan_started_at
    return f"raw/year={day:%Y}/month={day:%m}/day={day:%d}/{event.account_id}/inventory.json"


def claim_key_of(address: str) -> str:
    """The object key of a claim check ``s3://bucket/claims/...`` (claims live in the inventory bucket)."""
    return address.split("/", 3)[3] if address.startswith("s3://") and address.count("/") >= 3 else address


class ArchiverService:
    """Writes the raw API answers of each account scan to S3."""

    def __init__(
        self,
        store: ObjectStore,
        metrics: ArchiverMetrics | None = None,
        *,
        merge_attempts: int = 8,
        conflict_backoff_s: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._merge_retry = RetryPolicy(
            attempts=merge_attempts, base_s=conflict_backoff_s, max_s=5.0, logger=logger, sleep=sleep
        )

    def _put(self, key: str, document: Any) -> None:
        self._guarded(key, lambda: self._store.put_json(key, document))

    def _put_if(self, key: str, document: Any, *, etag: str | None) -> None:
        self._guarded(key, lambda: self._store.put_json_if(key, document, etag=etag))

    def _guarded(self, key: str, write: Callable[[], None]) -> None:
        try:
            write()
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
                self._assemble_if_parked(event.execution_id, event.scope.account_id)
            case AccountScanCompleted():
                self._complete_account(event)
            case ScopeCompleted() | ScanCompleted() | ScanRequested():
                raise UnexpectedEventError(f"the archiver does not consume {event.event_type}")
            case _:
                assert_never(event)

    def _all_staged(self, event: AccountScanCompleted) -> bool:
        expected = expected_pages(event)
        return not expected or expected <= self._store.keys_under(
            account_staging_prefix(event.execution_id, event.account_id)
        )

    def _complete_account(self, event: AccountScanCompleted) -> None:
        if event.scopes and not self._all_staged(event):
            # Write, then check: a page staged while we parked shows in the listing, a page staged after the
            # park finds the parked completion (see _assemble_if_parked).
            self._put(parked_key(event.execution_id, event.account_id), event.model_dump(mode="json"))
            if not self._all_staged(event):
                logger.info(
                    "account completion parked until its pages are staged",
                    extra={
                        "execution_id": event.execution_id,
                        "account_id": event.account_id,
                        "pages_expected": len(expected_pages(event)),
                    },
                )
                return
        self._assemble(event)

    def _assemble_if_parked(self, execution_id: str, account_id: str) -> None:
        """After staging a page: if the account's completion is parked and this was its last page, assemble."""
        parked = self._store.get_json(parked_key(execution_id, account_id))
        if parked is None:
            return
        try:
            event = AccountScanCompleted.model_validate(parked)
        except ValidationError as exc:
            raise CorruptDocumentError(
                f"{parked_key(execution_id, account_id)} is not an AccountScanCompleted"
            ) from exc
        if self._all_staged(event):
            logger.info("last page staged: assembling the parked account", extra={"account_id": account_id})
            self._assemble(event)

    def _resolve_claim(self, raw: Any, missing: list[str]) -> Any:
        """An item too large for a message was stored aside by the scanner; the archive holds the item itself."""
        if not (isinstance(raw, dict) and set(raw) == {CLAIM_CHECK_KEY}):
            return raw
        key = claim_key_of(str(raw[CLAIM_CHECK_KEY]))
        claimed = self._store.get_json(key)
        if claimed is None:
            missing.append(key)
        return claimed

    def _observe(self, event: AccountScanCompleted) -> list[ScopeEntry]:
        """This scan's raw items, scope by scope, from its staged pages (and claim checks)."""
        observations: list[ScopeEntry] = []
        missing: list[str] = []
        for summary in event.scopes:
            items: list[tuple[str, Any]] = []
            for page in range(1, summary.page_count + 1):
                key = staging_key(event.execution_id, summary.scope, page)
                staged = self._store.get_json(key)
                if staged is None:
                    missing.append(key)
                    continue
                for item in staged["items"]:
                    # Global types (S3) are filed under each bucket's own region.
                    items.append(
                        (item.get("region") or summary.scope.region, self._resolve_claim(item["raw"], missing))
                    )
            observations.append(
                ScopeEntry(
                    region=summary.scope.region,
                    resource_type=summary.scope.resource_type,
                    execution_id=event.execution_id,
                    scan_started_at=event.scan_started_at.isoformat(),
                    complete=summary.status == "complete",
                    items=items,
                )
            )
        if missing:
            raise PagesPendingError(f"{len(missing)} pages or claims of account {event.account_id} not staged yet")
        return observations

    def _assemble(self, event: AccountScanCompleted) -> None:
        if not event.scopes:
            # A failed AssumeRole or an abandoned scan saw nothing: there is no raw answer to keep.
            logger.info("nothing to archive", extra={"account_id": event.account_id, "status": event.status})
            return
        doc_key = raw_key(event)
        observations = self._observe(event)
        execution = ExecutionEntry(
            execution_id=event.execution_id,
            scan_started_at=event.scan_started_at.isoformat(),
            status=event.status,
            resource_count=event.resource_count,
            failed_scopes=tuple((s.region, s.resource_type) for s in event.failed_scopes),
        )
        day = f"{event.scan_started_at:%Y-%m-%d}"
        for _ in self._merge_retry.rounds("merge", reason="another writer merged first", key=doc_key):
            current = self._store.get_tagged(doc_key)
            if current is None:
                document = DayDocument(account_id=event.account_id, day=day)
            else:
                try:
                    document = DayDocument.parse(current.document, account_id=event.account_id, day=day)
                except CorruptDocumentError:
                    # Never overwrite what cannot be read: the record fails and, after its retries, waits in the
                    # DLQ while someone looks at the object (its earlier versions are kept by bucket versioning).
                    logger.error("the day's document cannot be read; it is left as it is", extra={"key": doc_key})
                    raise
            if not document.merge(execution, observations):
                logger.info("the day's document holds this scan already", extra={"key": doc_key})
                return
            try:
                self._put_if(doc_key, document.render(), etag=current.etag if current else None)
            except WriteConflictError:
                continue  # read and merge again
            logger.info(
                "raw document merged",
                extra={"key": doc_key, "execution_id": event.execution_id, "scopes": len(observations)},
            )
            return
        raise WriteConflictError(
            f"{doc_key}: lost {self._merge_retry.attempts} conditional writes in a row; the message will be retried"
        )
