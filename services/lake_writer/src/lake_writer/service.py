"""Turns a batch of events into one Iceberg commit per table, newest observation wins."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, assert_never

from inventory_events import (
    AccountScanCompleted,
    AnyEvent,
    Resource,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    ScopeCompleted,
)
from inventory_lake import to_naive_utc

from lake_writer.ports import CommitConflictError, KnownRow, LakeStore

logger = logging.getLogger(__name__)


class UnexpectedEventError(ValueError):
    """An event type this consumer is not subscribed to."""


def resource_row(resource: Resource, execution_id: str, known: KnownRow | None) -> dict[str, Any]:
    """The ``resources`` row for a resource, keeping the first time it was ever seen."""
    seen = to_naive_utc(resource.discovered_at)
    first = known.first_discovered_at if known and known.first_discovered_at else seen
    return {
        "resource_arn": resource.resource_arn,
        "resource_id": resource.resource_id,
        "resource_type": resource.resource_type,
        "account_id": resource.account_id,
        "region": resource.region,
        "name": resource.name,
        "state": resource.state,
        "tags": list(resource.tags.items()),
        "metadata": list(resource.metadata.items()),
        "discovered_at": seen,
        "discovery_status": "active",
        "first_discovered_at": min(first, seen),
        "last_discovered_at": seen,
        "missing_since": None,
        "last_execution_id": execution_id,
    }


def history_row(resource: Resource, execution_id: str) -> dict[str, Any]:
    """The ``resource_history`` row of one resource in one scan."""
    return {
        "execution_id": execution_id,
        "resource_arn": resource.resource_arn,
        "resource_id": resource.resource_id,
        "resource_type": resource.resource_type,
        "account_id": resource.account_id,
        "region": resource.region,
        "name": resource.name,
        "state": resource.state,
        "tags": list(resource.tags.items()),
        "metadata": list(resource.metadata.items()),
        "discovered_at": to_naive_utc(resource.discovered_at),
    }


class LakeWriterService:
    """Applies a consumed batch to the lake."""

    def __init__(self, store: LakeStore, *, commit_attempts: int = 8) -> None:
        self._store = store
        self._commit_attempts = commit_attempts

    def apply(self, events: Sequence[AnyEvent]) -> int:
        """Apply a batch; returns how many resource rows were written."""
        latest: dict[str, tuple[Resource, str]] = {}
        history: dict[tuple[str, str], dict[str, Any]] = {}
        for event in events:
            match event:
                case ResourcesDiscovered():
                    for resource in event.resources:
                        current = latest.get(resource.resource_arn)
                        if current is None or current[0].discovered_at < resource.discovered_at:
                            latest[resource.resource_arn] = (resource, event.execution_id)
                        history[(event.execution_id, resource.resource_arn)] = history_row(resource, event.execution_id)
                case ScopeCompleted():
                    # The lake's side of the missing-resource protocol lands with the lake issue (#6).
                    logger.info("scope completion noted", extra={"scope": event.scope.key, "status": event.status})
                case AccountScanCompleted() | ScanCompleted() | ScanRequested():
                    raise UnexpectedEventError(f"the lake writer does not consume {event.event_type}")
                case _:
                    assert_never(event)
        if not latest:
            return 0
        return self._commit(latest, list(history.values()))

    def _commit(self, latest: dict[str, tuple[Resource, str]], history: list[dict[str, Any]]) -> int:
        for attempt in range(self._commit_attempts):
            known = self._store.known(list(latest))
            rows = []
            for arn, (resource, execution_id) in latest.items():
                row = known.get(arn)
                if row and row.last_discovered_at and row.last_discovered_at > to_naive_utc(resource.discovered_at):
                    continue  # the lake already holds a newer observation
                rows.append(resource_row(resource, execution_id, row))
            try:
                self._store.write(rows, history)
            except CommitConflictError:
                logger.info("commit conflict, retrying", extra={"attempt": attempt + 1})
                time.sleep(min(2.0, 0.05 * 2**attempt))
                continue
            return len(rows)
        raise CommitConflictError(f"gave up after {self._commit_attempts} conflicting commits")
