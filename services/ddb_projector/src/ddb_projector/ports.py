"""Ports of the projector."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from inventory_events import AccountScanCompleted, Resource, ScanCompleted, Scope


class ResourceStore(Protocol):
    """The inventory table as the projector sees it. Every method is idempotent."""

    def upsert_resources(self, resources: list[Resource], execution_id: str) -> int:
        """Write resources; an item whose lastDiscoveredAt is newer (or equal) is left alone. Returns writes made."""

    def mark_page_applied(self, execution_id: str, scope: Scope, page: int) -> None:
        """Remember that this page of this execution's scope is in the table."""

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        """How many distinct pages of this execution's scope are in the table."""

    def mark_missing(self, scope: Scope, seen_before: datetime, now: datetime, expires_at: int) -> int:
        """Mark active items of the scope last seen before ``seen_before`` as missing; return how many."""

    def record_account_scan(self, event: AccountScanCompleted) -> None:
        """Update the Account item's sync status and the scan execution's per-account progress."""

    def record_scan(self, event: ScanCompleted) -> None:
        """Mark the scan execution finished."""
