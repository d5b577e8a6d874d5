"""Turns a batch of events into one Iceberg commit per table, newest observation wins."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, assert_never

from inventory_core.retry import RetryPolicy
from inventory_events import (
    AccountScanCompleted,
    AnyEvent,
    Resource,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    Scope,
    ScopeCompleted,
)
from inventory_lake import to_naive_utc

from lake_writer.ports import AppliedPage, CommitConflictError, KnownRow, LakeStore, ParkedCompletion, ScopeProgress

logger = logging.getLogger(__name__)
T = TypeVar("T")
_NOTHING = ScopeProgress()


class UnexpectedEventError(ValueError):
    """An event type this consumer is not subscribed to."""


@dataclass
class BatchResult:
    """What one batch did; ``parked`` counts complete ScopeCompleted events left in the lake for their pages.

    A completion that arrives before its pages is not sent back to the queue (where it would wait out the
    retry delay, 120 s in AWS): it is parked in ``scope_pages`` and swept by the writer that applies its last page.
    """

    rows_written: int = 0
    history_rows: int = 0
    marked_missing: int = 0
    swept: int = 0
    parked: int = 0
    #: seconds per step (rows, pages, sweep), for the batch's log line: where a slow batch spent its time
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[step] = round(self.seconds.get(step, 0.0) + time.monotonic() - started, 3)


def _columns(resource: Resource) -> dict[str, Any]:
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
        "discovered_at": to_naive_utc(resource.discovered_at),
    }


def resource_row(resource: Resource, execution_id: str, known: KnownRow | None) -> dict[str, Any]:
    """The ``resources`` row for a resource, keeping the first time it was ever seen."""
    seen = to_naive_utc(resource.discovered_at)
    first = known.first_discovered_at if known and known.first_discovered_at else seen
    return {
        **_columns(resource),
        "discovery_status": "active",
        "first_discovered_at": min(first, seen),
        "last_discovered_at": seen,
        "missing_since": None,
        "last_execution_id": execution_id,
    }


def history_row(resource: Resource, execution_id: str) -> dict[str, Any]:
    """The ``resource_history`` row of one resource in one scan."""
    return {"execution_id": execution_id, **_columns(resource)}


class LakeWriterService:
    """Applies a consumed batch to the lake: pages first (one commit per table), then scope completions."""

    def __init__(
        self,
        store: LakeStore,
        *,
        commit_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        # A commit that lost to another writer's is made again on the new snapshot.
        self._commit_retry = RetryPolicy(
            attempts=commit_attempts,
            base_s=0.05,
            max_s=2.0,
            retry_on=lambda exc: isinstance(exc, CommitConflictError),
            logger=logger,
            sleep=sleep,
        )

    def apply(self, events: Sequence[AnyEvent]) -> BatchResult:
        """Apply a batch. ScopeCompleted events that must wait for their pages are returned as pending."""
        latest: dict[str, tuple[Resource, str, Scope]] = {}
        history: dict[tuple[str, str], dict[str, Any]] = {}
        pages: list[AppliedPage] = []
        completions: list[ScopeCompleted] = []
        for event in events:
            match event:
                case ResourcesDiscovered():
                    for resource in event.resources:
                        current = latest.get(resource.resource_arn)
                        if current is None or current[0].discovered_at < resource.discovered_at:
                            latest[resource.resource_arn] = (resource, event.execution_id, event.scope)
                        history[(event.execution_id, resource.resource_arn)] = history_row(resource, event.execution_id)
                    pages.append(AppliedPage(event.execution_id, event.scope, event.page))
                case ScopeCompleted():
                    completions.append(event)
                case AccountScanCompleted() | ScanCompleted() | ScanRequested():
                    raise UnexpectedEventError(f"the lake writer does not consume {event.event_type}")
                case _:
                    assert_never(event)
        result = BatchResult(history_rows=len(history))
        if latest:
            with result.timed("rows"):
                result.rows_written = self._retry(lambda: self._write(latest, list(history.values())))
        self._complete_scopes(pages, completions, result)
        return result

    def _write(self, latest: dict[str, tuple[Resource, str, Scope]], history: list[dict[str, Any]]) -> int:
        known = self._store.known([resource for resource, _, _ in latest.values()])
        sweeps = self._store.sweep_starts(list({s.key: s for _, _, s in latest.values()}.values()))
        rows = []
        for arn, (resource, execution_id, scope) in latest.items():
            row = known.get(arn)
            if row and row.last_discovered_at and row.last_discovered_at > to_naive_utc(resource.discovered_at):
                continue  # the lake already holds a newer observation
            new_row = resource_row(resource, execution_id, row)
            missed_by = [started for started in sweeps.get(scope.key, []) if started > resource.discovered_at]
            if missed_by:
                # A late page of an older scan: a newer complete scan of this scope has not seen it since.
                new_row.update(discovery_status="missing", missing_since=to_naive_utc(min(missed_by)))
            rows.append(new_row)
        self._store.write(rows, history)
        return len(rows)

    def _complete_scopes(
        self, pages: list[AppliedPage], completions: list[ScopeCompleted], result: BatchResult
    ) -> None:
        """Record the pages and park the completions (one commit), then sweep every scope now complete.

        Write, then check: the pages and the completions are recorded before the writer reads what the lake
        holds, so of two writers racing (one with a scope's last page, one with its completion) the one that
        commits second sees both and sweeps; both may, and a sweep is idempotent. Pages are recorded only after
        their rows are committed: a crash in between replays the (idempotent) write.
        """
        for event in completions:
            if event.status != "complete":
                logger.warning(
                    "failed scope marks nothing missing", extra={"scope": event.scope.key, "error": event.error}
                )
        complete = [e for e in completions if e.status == "complete"]
        parked = [
            ParkedCompletion(e.execution_id, e.scope, e.page_count, e.scan_started_at)
            for e in complete
            if e.page_count > 0  # a scope of no pages is complete on arrival
        ]
        if pages or parked:
            with result.timed("pages"):
                self._retry(lambda: self._store.record_pages(pages, parked))
        touched = {(p.execution_id, p.scope.key): (p.execution_id, p.scope) for p in pages}
        touched |= {(e.execution_id, e.scope.key): (e.execution_id, e.scope) for e in complete}
        if not touched:
            return
        with result.timed("pages"):
            progress = self._store.progress(list(touched.values()))
        ready: dict[tuple[str, str], tuple[str, Scope, Any]] = {}
        for e in complete:
            if e.page_count == 0 and not progress.get((e.execution_id, e.scope.key), _NOTHING).swept:
                ready[(e.execution_id, e.scope.key)] = (e.execution_id, e.scope, e.scan_started_at)
        for key, state in progress.items():
            if state.completion and not state.swept and state.pages >= state.completion.page_count:
                ready[key] = (state.completion.execution_id, state.completion.scope, state.completion.scan_started_at)
        waiting = {(e.execution_id, e.scope.key) for e in complete} - ready.keys()
        result.parked = sum(1 for key in waiting if not progress.get(key, _NOTHING).swept)
        if result.parked:
            logger.info("scope completions wait in the lake for their pages", extra={"scopes": result.parked})
        if not ready:
            return
        sweeps = list(ready.values())
        with result.timed("sweep"):
            result.marked_missing += self._retry(lambda: self._store.mark_missing([(s, at) for _, s, at in sweeps]))
            self._retry(lambda: self._store.record_sweeps(sweeps))
        result.swept = len(sweeps)
        logger.info("scopes swept", extra={"scopes": len(sweeps), "marked_missing": result.marked_missing})

    def _retry(self, action: Callable[[], T]) -> T:
        try:
            return self._commit_retry.call(action, operation="commit")
        except CommitConflictError as exc:
            raise CommitConflictError(f"gave up after {self._commit_retry.attempts} conflicting commits") from exc
