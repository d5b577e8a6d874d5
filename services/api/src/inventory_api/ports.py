"""Ports of the query service. Adapters raise our own errors (StoreError), never botocore's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from inventory_events import ScanRequested

from inventory_api.schemas import RegionCheck


class StoreError(RuntimeError):
    """A backing store (DynamoDB, SQS, S3) failed; the API answers 503 and the caller may retry."""


class InventoryReader(Protocol):
    """Read side of the single table."""

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        """Resource items (all, or of one account) with the grid's attributes, as stored."""

    def resource(self, account_id: str, resource_type: str, resource_arn: str) -> dict[str, Any] | None:
        """One resource item with every attribute (tags, metadata), or None."""

    def account_items(self) -> list[dict[str, Any]]:
        """Every Account item (sk=METADATA), with its lastSync* attributes."""


class ScanStore(Protocol):
    """Scan executions and the per-account sync locks, in the single table.

    ``acquire_sync_lock`` is a conditional write: it succeeds for one caller only while the lock is held.
    """

    def acquire_sync_lock(self, account_id: str, execution_id: str, expires_at: int, now: int) -> str | None:
        """Take the account's lock for ``execution_id``; return None, or the executionId that holds it."""

    def release_sync_lock(self, account_id: str, execution_id: str) -> None:
        """Drop the lock if ``execution_id`` still holds it."""

    def steal_sync_lock(self, account_id: str, stale_execution_id: str, execution_id: str, expires_at: int) -> bool:
        """Replace a lock held by a finished execution; False if someone else changed it first."""

    def scanner_lock(self, account_id: str, now: int) -> str | None:
        """The executionId the scanner is scanning this account for right now (its own lock), if any."""

    def execution_items(self, execution_id: str) -> list[dict[str, Any]]:
        """Every item of the execution (STATUS, ACCOUNT#..., SCOPE#...); empty if unknown."""

    def start_execution(self, execution_id: str, item: Mapping[str, Any]) -> None:
        """Write the execution's STATUS item; attributes already set (by the projector) are kept."""

    def fail_execution(self, execution_id: str, reason: str, at: str) -> None:
        """Mark an execution failed (the scan request could not be sent)."""


class ScanRequestSender(Protocol):
    def send(self, event: ScanRequested) -> None:
        """Send the request to the scan-requests queue; raises StoreError on failure."""


class ExportStore(Protocol):
    def upload(self, path: Path, key: str) -> None:
        """Store the file at ``key`` encrypted at rest (SSE-S3)."""

    def download_url(self, key: str, expires_in_s: int, filename: str) -> str:
        """A presigned GET of ``key`` valid for ``expires_in_s`` seconds."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""


class AuditLog(Protocol):
    """Append-only audit records; ``record`` never overwrites."""

    def record(self, entry: Mapping[str, Any]) -> None:
        """Append one record (keys: time, actor, role, action, parameters, sourceIp, outcome, requestId)."""

    def read(self, day: str, limit: int, actions: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Records of one UTC day (yyyy-mm-dd), newest first."""


class AccountStore(Protocol):
    """Account items (pk=ACCOUNT#{id}, sk=METADATA) as stored; writes are conditional on existence."""

    def get(self, account_id: str) -> dict[str, Any] | None:
        """The Account item (strongly consistent), or None."""

    def create(self, item: Mapping[str, Any]) -> bool:
        """Put the item only if no Account item of that id exists; False if one does."""

    def update(self, account_id: str, sets: Mapping[str, Any], removes: Sequence[str]) -> dict[str, Any] | None:
        """Set and remove attributes of an existing item; return the new item, or None if there is none."""

    def delete(self, account_id: str) -> dict[str, Any] | None:
        """Delete the Account item only (its resources and history stay); return the old item, or None."""

    def unindexed(self) -> list[dict[str, Any]]:
        """Account items without our GSI1 keys (written by the Nucleus app): needs a filtered table scan."""


class AccessChecker(Protocol):
    """Assumes an account's role and makes one cheap read call per region."""

    def check(
        self, account_id: str, role_arn: str, external_id: str | None, regions: Sequence[str]
    ) -> list[RegionCheck]:
        """One result per region, in the order given; never raises for an AWS error (it is a result)."""


class ScanHistory(Protocol):
    """Scan executions' STATUS items, newest first (GSI1 partition TYPE#SCAN)."""

    def page(self, limit: int, start: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to ``limit`` STATUS items after ``start``, and the key to continue from (None at the end)."""

    def execution_items(self, execution_id: str) -> list[dict[str, Any]]:
        """Every item of the execution (STATUS, ACCOUNT#..., SCOPE#...)."""
