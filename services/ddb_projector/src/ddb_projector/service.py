"""What the projector does with each event: the DynamoDB side of the missing-resource protocol."""

from __future__ import annotations

import logging
from collections.abc import Callable
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

from ddb_projector.ports import ResourceStore

logger = logging.getLogger(__name__)


class PagesPendingError(RuntimeError):
    """A ScopeCompleted arrived before all its pages were applied; the message is retried later."""


class UnexpectedEventError(ValueError):
    """An event type this consumer is not subscribed to (a filter policy mistake)."""


class ProjectorService:
    """Applies inventory events to the resource table."""

    def __init__(self, store: ResourceStore, *, retention: timedelta, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._retention = retention
        self._clock = clock

    def handle(self, event: AnyEvent) -> None:
        match event:
            case ResourcesDiscovered():
                written = self._store.upsert_resources(event.resources, event.execution_id)
                self._store.mark_page_applied(event.execution_id, event.scope, event.page)
                logger.info(
                    "page applied",
                    extra={
                        "scope": event.scope.key,
                        "page": event.page,
                        "resources": len(event.resources),
                        "written": written,
                    },
                )
            case ScopeCompleted():
                self._complete_scope(event)
            case AccountScanCompleted():
                self._store.record_account_scan(event)
            case ScanCompleted():
                self._store.record_scan(event)
            case ScanRequested():
                raise UnexpectedEventError("the projector does not consume ScanRequested")
            case _:
                assert_never(event)

    def _complete_scope(self, event: ScopeCompleted) -> None:
        if event.status != "complete":
            logger.warning("failed scope marks nothing missing", extra={"scope": event.scope.key, "error": event.error})
            return
        applied = self._store.pages_applied(event.execution_id, event.scope)
        if applied < event.page_count:
            raise PagesPendingError(f"{event.scope.key}: {applied} of {event.page_count} pages applied")
        now = self._clock()
        expires_at = int((now + self._retention).timestamp())
        missing = self._store.mark_missing(event.scope, event.scan_started_at, now, expires_at)
        logger.info("scope swept", extra={"scope": event.scope.key, "marked_missing": missing})
