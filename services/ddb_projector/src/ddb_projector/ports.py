"""Ports of the projector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from inventory_events import AccountScanCompleted, ResourcesDiscovered, ScanCompleted, Scope, ScopeCompleted


@dataclass(frozen=True)
class AccountSyncRecorded:
    """The Account item took this scan's status; what its previous successful scan had counted."""

    previous_success_count: int | None


@dataclass(frozen=True)
class ScopeMarker:
    """A scan's marker of one scope as the write that returned it left it (read in the same atomic write).

    ``pages``: distinct pages of the scope applied; ``parked``: a complete ScopeCompleted that arrived before
    its pages and waits for them.
    """

    pages: int
    parked: ScopeCompleted | None = None


@dataclass(frozen=True)
class PageApplied:
    """What applying a page did: items (re)written, and the scope's marker right after the page was recorded."""

    written: int
    marker: ScopeMarker


class ResourceStore(Protocol):
    """The inventory table as the projector sees it.

    Every method is idempotent, and the table ends the same under any order of calls: a resource item
    shows its newest observation, firstDiscoveredAt its oldest; it is missing (with missingSince and a ttl
    of missingSince plus the retention) exactly when a complete sweep of its scope started after its newest
    observation. missingSince is the start of the earliest such sweep's scan, never the time the sweep was
    processed, so it depends on the events only (the lake writer's missing_since means the same).
    Implementations take these decisions from ``ddb_projector.rules`` and only store their outcome.
    """

    def apply_page(self, event: ResourcesDiscovered) -> PageApplied:
        """Apply one page of a scope's resources and remember the page as applied.

        The page counts as applied only once its items are in, so a sweep never runs ahead of them. The
        returned marker is read in the same write that records the page (write, then check): with
        ``park_completion`` doing the same in the other order, one of a racing page and completion always
        sees both.
        """

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        """How many distinct pages of this execution's scope are in the table."""

    def park_completion(self, event: ScopeCompleted) -> ScopeMarker:
        """Record a complete ScopeCompleted that arrived before its pages on the scope's marker (it expires
        with the marker); return the marker as this write left it (pages applied so far included)."""

    def mark_missing(self, scope: Scope, scan_started_at: datetime, execution_id: str) -> int:
        """Sweep a completely listed scope: what was last seen before the scan start is missing since then.

        Returns how many items changed. The sweep is remembered, so a late page of an older scan cannot
        bring back as active a resource this scan did not find.
        """

    def record_scope_progress(self, event: ScopeCompleted) -> None:
        """Count the scope as done or failed on the scan execution's per-account item (once per scope)."""

    def record_account_scan(self, event: AccountScanCompleted) -> AccountSyncRecorded | None:
        """Set the Account item's sync status unless a scan that started later is already recorded.

        Returns None when nothing changed: a duplicate, an older scan, or an unknown account.
        """

    def record_scan(self, event: ScanCompleted) -> None:
        """Mark the scan execution finished."""


class ProcessedEvents(Protocol):
    """Markers of events already applied, keyed on ``event_id`` (not the SQS message id), with expiry."""

    def is_processed(self, event_id: UUID) -> bool:
        """True if the event was applied and its marker has not expired."""

    def mark_processed(self, event_id: UUID, expires_at: datetime) -> None:
        """Remember that the event was applied, until ``expires_at``."""


class ProjectorMetrics(Protocol):
    """Custom metrics of the projector (TRD section 9)."""

    def resource_count_delta(self, account_id: str, previous: int, current: int, change_pct: float) -> None:
        """An account's resource count moved by ``change_pct`` percent against its previous successful scan."""
