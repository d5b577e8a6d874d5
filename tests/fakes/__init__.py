"""In-memory implementations of our own ports, with inspectable state."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ddb_projector import rules
from ddb_projector.adapters.dynamodb_store import missing_attributes, resource_item, stored_of
from ddb_projector.ports import AccountSyncRecorded, PageApplied, ResourceStore, ScopeMarker
from inventory_core.items import Account
from inventory_core.timefmt import iso
from inventory_events import (
    GLOBAL_REGION,
    AccountScanCompleted,
    AnyEvent,
    ResourcesDiscovered,
    ScanCompleted,
    Scope,
    ScopeCompleted,
    utc_now,
)
from scanner.catalog import ResourceSpec
from scanner.ports import AssumeRoleError, LockResult


@dataclass
class InMemoryEventPublisher:
    published: list[AnyEvent] = field(default_factory=list)

    def publish(self, events: Sequence[AnyEvent]) -> None:
        self.published.extend(events)

    def of_type(self, event_type: str) -> list[Any]:
        return [e for e in self.published if e.event_type == event_type]


@dataclass
class InMemoryAccountDirectory:
    accounts: list[Account]

    def enabled_accounts(self, account_ids: Sequence[str] | None) -> list[Account]:
        return [a for a in self.accounts if a.sync_enabled and (not account_ids or a.account_id in account_ids)]


@dataclass
class InMemoryAccountSession:
    """Raw items per (slug, region); a region listed in ``failing`` raises mid-listing."""

    items: dict[tuple[str, str], list[dict[str, Any]]]
    page_size: int = 2
    failing: set[tuple[str, str]] = field(default_factory=set)

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        items = self.items.get((spec.slug, region), [])
        for i in range(0, max(len(items), 1), self.page_size):
            if (spec.slug, region) in self.failing and i > 0:
                raise RuntimeError("Throttling: rate exceeded")
            yield items[i : i + self.page_size]

    def enabled_regions(self) -> list[str]:
        return sorted({region for _, region in self.items if region != GLOBAL_REGION})


@dataclass
class InMemoryScanLock:
    """Account locks as a dict; ``now`` is settable so tests can expire a lock."""

    held: dict[str, tuple[str, int]] = field(default_factory=dict)
    now: int = 1_800_000_000
    acquired_at: dict[str, int] = field(default_factory=dict)

    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> LockResult:
        holder = self.held.get(account_id)
        if holder and holder[0] != execution_id and holder[1] >= self.now:
            return LockResult(acquired=False, holder=holder[0], expires_at=holder[1])
        self.held[account_id] = (execution_id, self.now + ttl_s)
        stale = holder[0] if holder and holder[0] != execution_id else None
        if stale is None:
            self.acquired_at.setdefault(account_id, self.now)
        stale_at = self.acquired_at.get(account_id) if stale else None
        if stale:
            self.acquired_at[account_id] = self.now
        return LockResult(acquired=True, expires_at=self.now + ttl_s, stale_holder=stale, stale_acquired_at=stale_at)

    def release(self, account_id: str, execution_id: str) -> None:
        if self.held.get(account_id, ("",))[0] == execution_id:
            del self.held[account_id]
            self.acquired_at.pop(account_id, None)


@dataclass
class InMemoryClaimStore:
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put(self, execution_id: str, raw: Mapping[str, Any]) -> str:
        address = f"s3://claims/{execution_id}/{len(self.stored)}.json"
        self.stored[address] = dict(raw)
        return address


@dataclass
class InMemorySessionProvider:
    sessions: dict[str, InMemoryAccountSession]

    def open(self, account: Account, execution_id: str) -> InMemoryAccountSession:
        if account.account_id not in self.sessions:
            raise AssumeRoleError(f"AccessDenied for {account.account_id}")
        return self.sessions[account.account_id]


@dataclass
class InMemoryResourceStore:
    """The projector's table as dicts: storage only, every decision from ``ddb_projector.rules``.

    Resource items by ARN in the DynamoDB store's own layout. Only accounts listed in ``accounts`` (register
    them) take a sync status, as only existing Account items do.
    """

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    scan_status: dict[str, dict[str, Any]] = field(default_factory=dict)
    scan_accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sweeps: dict[str, set[str]] = field(default_factory=dict)
    parked: dict[tuple[str, str], ScopeCompleted] = field(default_factory=dict)
    retention: timedelta = timedelta(days=30)
    sweep_memory: timedelta = timedelta(days=30)

    def register_account(self, account_id: str) -> None:
        self.accounts.setdefault(account_id, {})

    def _marker(self, execution_id: str, scope: Scope) -> ScopeMarker:
        key = (execution_id, scope.key)
        return ScopeMarker(pages=len(self.pages.get(key, set())), parked=self.parked.get(key))

    def apply_page(self, event: ResourcesDiscovered) -> PageApplied:
        stored = {
            r.resource_arn: stored_of(self.items[r.resource_arn])
            for r in event.resources
            if r.resource_arn in self.items
        }
        plan = rules.plan_page(event.resources, stored, self.sweeps.get(event.scope.key, set()))
        for w in plan.writes:
            self.items[w.resource.resource_arn] = resource_item(
                w.resource, event.execution_id, w.first_discovered_at, w.missing_since, self.retention
            )
        for lower in plan.lower_first:
            self.items[lower.resource_arn]["firstDiscoveredAt"] = lower.first_discovered_at
        self.pages.setdefault((event.execution_id, event.scope.key), set()).add(event.page)
        return PageApplied(written=len(plan.writes), marker=self._marker(event.execution_id, event.scope))

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        return self._marker(execution_id, scope).pages

    def park_completion(self, event: ScopeCompleted) -> ScopeMarker:
        self.parked[(event.execution_id, event.scope.key)] = event
        return self._marker(event.execution_id, event.scope)

    def mark_missing(self, scope: Scope, scan_started_at: datetime, execution_id: str) -> int:
        cutoff = iso(scan_started_at)
        self.sweeps[scope.key] = rules.remembered_sweeps(
            self.sweeps.get(scope.key, set()), scan_started_at, self.sweep_memory
        )
        missed = [
            item
            for item in self.items.values()
            if rules.in_scope(scope, item["accountId"], item["resourceType"], item["region"])
            and rules.missed_by_sweep(stored_of(item), cutoff)
        ]
        for item in missed:
            item.update(missing_attributes(cutoff, self.retention))
        return len(missed)

    def _touch_scan(self, execution_id: str, started: datetime) -> None:
        status = self.scan_status.setdefault(execution_id, {"status": "in_progress"})
        status.setdefault("startedAt", iso(started))

    def record_scope_progress(self, event: ScopeCompleted) -> None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        progress = self.scan_accounts.setdefault((event.execution_id, event.scope.account_id), {})
        progress.setdefault("status", "in_progress")
        keys: set[str] = progress.setdefault("scopeKeys", set())
        counted = rules.scope_progress(keys, event)
        if counted is not None:
            keys.add(counted.scope_key)
            progress[counted.counter] = progress.get(counted.counter, 0) + 1

    def record_account_scan(self, event: AccountScanCompleted) -> AccountSyncRecorded | None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        progress = self.scan_accounts.setdefault((event.execution_id, event.account_id), {})
        progress.update(status=event.status, resourceCount=event.resource_count, durationMs=event.duration_ms)
        account = self.accounts.get(event.account_id)
        if account is None or not rules.is_later_scan(account.get("lastSyncScanStartedAt"), iso(event.scan_started_at)):
            return None
        previous = account.get("lastSuccessfulSyncResourceCount")
        account.update(rules.account_sync_values(event))
        return AccountSyncRecorded(previous_success_count=previous)

    def record_scan(self, event: ScanCompleted) -> None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        self.scan_status[event.execution_id].update(
            status=rules.scan_outcome(event), resourceCount=sum(a.resource_count for a in event.accounts)
        )


@dataclass
class InMemoryProcessedEvents:
    """Event markers with expiry; ``now`` decides what has expired."""

    markers: dict[UUID, datetime] = field(default_factory=dict)
    now: Callable[[], datetime] = utc_now

    def is_processed(self, event_id: UUID) -> bool:
        expires_at = self.markers.get(event_id)
        return expires_at is not None and expires_at > self.now()

    def mark_processed(self, event_id: UUID, expires_at: datetime) -> None:
        self.markers[event_id] = expires_at


@dataclass
class InMemoryProjectorMetrics:
    """Every ResourceCountDelta emitted, as (account_id, previous, current, change_pct)."""

    count_deltas: list[tuple[str, int, int, float]] = field(default_factory=list)

    def resource_count_delta(self, account_id: str, previous: int, current: int, change_pct: float) -> None:
        self.count_deltas.append((account_id, previous, current, change_pct))


@dataclass
class LastPageLandsDuring:
    """A projector store (the fake or the DynamoDB one) in which another consumer applies a scope's last page
    at a chosen point of a completion's handling: ``before check`` (its first read of the pages), ``between check
    and park``, or ``after park``; everything else is the inner store's."""

    inner: ResourceStore
    when: str
    last_page: ResourcesDiscovered
    writer: Callable[[ResourcesDiscovered], None] = lambda e: None

    def apply_page(self, event: ResourcesDiscovered) -> PageApplied:
        return self.inner.apply_page(event)

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        if self.when == "before check":
            self.writer(self.last_page)
        applied = self.inner.pages_applied(execution_id, scope)
        if self.when == "between check and park":
            self.writer(self.last_page)
        return applied

    def park_completion(self, event: ScopeCompleted) -> ScopeMarker:
        marker = self.inner.park_completion(event)
        if self.when == "after park":
            self.writer(self.last_page)
        return marker

    def mark_missing(self, scope: Scope, scan_started_at: datetime, execution_id: str) -> int:
        return self.inner.mark_missing(scope, scan_started_at, execution_id)

    def record_scope_progress(self, event: ScopeCompleted) -> None:
        self.inner.record_scope_progress(event)

    def record_account_scan(self, event: AccountScanCompleted) -> AccountSyncRecorded | None:
        return self.inner.record_account_scan(event)

    def record_scan(self, event: ScanCompleted) -> None:
        self.inner.record_scan(event)
