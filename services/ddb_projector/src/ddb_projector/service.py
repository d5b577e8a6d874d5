"""What the projector does with each event: the DynamoDB side of the missing-resource protocol."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from inventory_events import (
    AccountScanCompleted,
    AnyEvent,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    ScopeCompleted,
    utc_now,
)

from ddb_projector.ports import ProcessedEvents, ProjectorMetrics, ResourceStore
from ddb_projector.rules import in_scope, sweep_due
from ddb_projector.snapshot import SnapshotPublisher

logger = logging.getLogger(__name__)


class UnexpectedEventError(ValueError):
    """An event type this consumer is not subscribed to (a filter policy mistake)."""


class InvalidPageError(ValueError):
    """A page carries resources outside its own scope; applying it would break the per-scope protocol."""


@dataclass(frozen=True)
class ProjectorOptions:
    """Knobs of the projector."""

    marker_retention: timedelta = timedelta(days=15)
    count_delta_threshold_pct: float = 20.0


def count_change_pct(previous: int, current: int) -> float:
    """Signed change in percent; from zero, any growth counts as 100 % per resource."""
    return (current - previous) / max(previous, 1) * 100.0


def check_page(event: ResourcesDiscovered) -> None:
    """Reject a page whose resources do not belong to its scope (account, type, and region unless global)."""
    scope = event.scope
    for r in event.resources:
        if not in_scope(scope, r.account_id, r.resource_type, r.region):
            raise InvalidPageError(
                f"{r.resource_arn} ({r.account_id}/{r.region}/{r.resource_type}) is not in {scope.key}"
            )


class ProjectorService:
    """Applies inventory events to the resource table."""

    def __init__(
        self,
        store: ResourceStore,
        *,
        processed: ProcessedEvents,
        metrics: ProjectorMetrics,
        options: ProjectorOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        snapshots: SnapshotPublisher | None = None,
    ) -> None:
        self._store = store
        self._snapshots = snapshots
        self._processed = processed
        self._metrics = metrics
        self._options = options or ProjectorOptions()
        self._clock = clock

    def handle(self, event: AnyEvent) -> None:
        """Apply one event; a redelivered event whose marker is still there is skipped.

        The writes are idempotent by construction as well: the marker saves the work and keeps a
        duplicate from emitting its metric twice, it is not what makes the table right.
        """
        if self._processed.is_processed(event.event_id):
            logger.info("duplicate event skipped", extra={"event_id": str(event.event_id), "type": event.event_type})
            return
        self._apply(event)
        self._processed.mark_processed(event.event_id, self._clock() + self._options.marker_retention)
        self._publish_snapshot(force=isinstance(event, ScanCompleted))

    def _publish_snapshot(self, *, force: bool) -> None:
        """Publish the grid snapshot when due; a failure never fails the event (the journal keeps the change)."""
        if self._snapshots is None:
            return
        try:
            self._snapshots.publish_if_due(force=force)
        except Exception:
            logger.exception("grid snapshot not published; the API applies the journal on top of the previous one")

    def _apply(self, event: AnyEvent) -> None:
        match event:
            case ResourcesDiscovered():
                self._apply_page(event)
            case ScopeCompleted():
                self._complete_scope(event)
            case AccountScanCompleted():
                self._complete_account(event)
            case ScanCompleted():
                self._store.record_scan(event)
            case ScanRequested():
                raise UnexpectedEventError("the projector does not consume ScanRequested")
            case _:
                assert_never(event)

    def _apply_page(self, event: ResourcesDiscovered) -> None:
        check_page(event)
        applied = self._store.apply_page(event)
        logger.info(
            "page applied",
            extra={
                "execution_id": event.execution_id,
                "scope": event.scope.key,
                "page": event.page,
                "resources": len(event.resources),
                "written": applied.written,
            },
        )
        parked = applied.marker.parked
        if parked is not None and sweep_due(applied.marker.pages, parked):
            # the scope's completion came first and was parked: its last page sweeps at once
            self._sweep(parked, by="page")

    def _complete_scope(self, event: ScopeCompleted) -> None:
        if event.status != "complete":
            logger.warning("failed scope marks nothing missing", extra={"scope": event.scope.key, "error": event.error})
            self._store.record_scope_progress(event)
            return
        if not sweep_due(self._store.pages_applied(event.execution_id, event.scope), event):
            # Earlier than its pages: park it instead of failing the message (a retry would wait for the
            # visibility timeout and spend one of its receives). Write, then check: a page recorded while we
            # parked shows in the marker the park returns, and a page recorded after it finds the parked one.
            marker = self._store.park_completion(event)
            if not sweep_due(marker.pages, event):
                logger.info(
                    "scope completion parked until its pages are applied",
                    extra={
                        "execution_id": event.execution_id,
                        "scope": event.scope.key,
                        "pages_applied": marker.pages,
                        "page_count": event.page_count,
                    },
                )
                return
        self._sweep(event, by="completion")

    def _sweep(self, event: ScopeCompleted, *, by: str) -> None:
        """Sweep a completely listed scope and count it; idempotent, so two racing writers may both do it."""
        missing = self._store.mark_missing(event.scope, event.scan_started_at, event.execution_id)
        self._store.record_scope_progress(event)
        logger.info(
            "scope swept",
            extra={"execution_id": event.execution_id, "scope": event.scope.key, "marked_missing": missing, "by": by},
        )

    def _complete_account(self, event: AccountScanCompleted) -> None:
        recorded = self._store.record_account_scan(event)
        if recorded is None:
            logger.info(
                "account status not changed: a later scan is recorded, or the account is unknown",
                extra={"execution_id": event.execution_id, "account_id": event.account_id},
            )
            return
        previous = recorded.previous_success_count
        if event.status != "success" or previous is None:
            return  # a partial or failed count says nothing about the estate; compare successes only
        change = count_change_pct(previous, event.resource_count)
        if abs(change) > self._options.count_delta_threshold_pct:
            self._metrics.resource_count_delta(event.account_id, previous, event.resource_count, change)
            logger.warning(
                "resource count moved beyond the threshold",
                extra={
                    "account_id": event.account_id,
                    "execution_id": event.execution_id,
                    "previous_count": previous,
                    "resource_count": event.resource_count,
                    "change_pct": round(change, 2),
                    "threshold_pct": self._options.count_delta_threshold_pct,
                },
            )
