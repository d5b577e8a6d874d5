"""In-memory implementations of our own ports, with inspectable state."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from ddb_projector.ports import AccountSyncRecorded
from inventory_core.items import Account
from inventory_core.timefmt import iso, parse_iso
from inventory_events import (
    GLOBAL_REGION,
    AccountScanCompleted,
    AnyEvent,
    Resource,
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
    """The projector's table as dicts (resource items by ARN, camelCase, ISO strings); mirrors DynamoDbResourceStore.

    Only accounts listed in ``accounts`` (register them) take a sync status, as only existing Account items do.
    """

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    scan_status: dict[str, dict[str, Any]] = field(default_factory=dict)
    scan_accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sweeps: dict[str, set[str]] = field(default_factory=dict)
    retention: timedelta = timedelta(days=30)

    def register_account(self, account_id: str) -> None:
        self.accounts.setdefault(account_id, {})

    def apply_page(self, event: ResourcesDiscovered) -> int:
        written = self._upsert(event.scope, event.resources, event.execution_id)
        self.pages.setdefault((event.execution_id, event.scope.key), set()).add(event.page)
        return written

    def _upsert(self, scope: Scope, resources: list[Resource], execution_id: str) -> int:
        newest: dict[str, Resource] = {}
        for r in resources:
            if r.resource_arn not in newest or r.discovered_at > newest[r.resource_arn].discovered_at:
                newest[r.resource_arn] = r
        written = 0
        for r in newest.values():
            seen = iso(r.discovered_at)
            current = self.items.get(r.resource_arn)
            if current is not None and seen <= current["lastDiscoveredAt"]:
                current["firstDiscoveredAt"] = min(current["firstDiscoveredAt"], seen)
                continue
            item: dict[str, Any] = {
                "resourceArn": r.resource_arn,
                "resourceId": r.resource_id,
                "resourceType": r.resource_type,
                "accountId": r.account_id,
                "region": r.region,
                "name": r.name,
                "state": r.state,
                "tags": dict(r.tags),
                "metadata": dict(r.metadata),
                "lastDiscoveredAt": seen,
                "firstDiscoveredAt": seen if current is None else min(current["firstDiscoveredAt"], seen),
                "discoveryStatus": "active",
                "lastExecutionId": execution_id,
            }
            after = [started for started in self.sweeps.get(scope.key, set()) if started > seen]
            if after:
                item.update(discoveryStatus="missing", missingSince=min(after), ttl=self._ttl(min(after)))
            self.items[r.resource_arn] = item
            written += 1
        return written

    def _ttl(self, missing_since: str) -> int:
        return int((parse_iso(missing_since) + self.retention).timestamp())

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        return len(self.pages.get((execution_id, scope.key), set()))

    def mark_missing(self, scope: Scope, scan_started_at: datetime, execution_id: str) -> int:
        cutoff = iso(scan_started_at)
        self.sweeps.setdefault(scope.key, set()).add(cutoff)
        marked = 0
        for item in self.items.values():
            in_scope = item["accountId"] == scope.account_id and item["resourceType"] == scope.resource_type
            in_scope = in_scope and (scope.region == GLOBAL_REGION or item["region"] == scope.region)
            sweepable = item["discoveryStatus"] == "active" or item["missingSince"] > cutoff
            if in_scope and item["lastDiscoveredAt"] < cutoff and sweepable:
                item.update(discoveryStatus="missing", missingSince=cutoff, ttl=self._ttl(cutoff))
                marked += 1
        return marked

    def _touch_scan(self, execution_id: str, started: datetime) -> None:
        status = self.scan_status.setdefault(execution_id, {"status": "in_progress"})
        status.setdefault("startedAt", iso(started))

    def record_scope_progress(self, event: ScopeCompleted) -> None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        progress = self.scan_accounts.setdefault((event.execution_id, event.scope.account_id), {})
        progress.setdefault("status", "in_progress")
        keys: set[str] = progress.setdefault("scopeKeys", set())
        if event.scope.key not in keys:
            keys.add(event.scope.key)
            counter = "scopesDone" if event.status == "complete" else "scopesFailed"
            progress[counter] = progress.get(counter, 0) + 1

    def record_account_scan(self, event: AccountScanCompleted) -> AccountSyncRecorded | None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        progress = self.scan_accounts.setdefault((event.execution_id, event.account_id), {})
        progress.update(status=event.status, resourceCount=event.resource_count, durationMs=event.duration_ms)
        account = self.accounts.get(event.account_id)
        started = iso(event.scan_started_at)
        if account is None or account.get("lastSyncScanStartedAt", "") >= started:
            return None
        previous = account.get("lastSuccessfulSyncResourceCount")
        account.update(
            lastSyncedAt=iso(event.occurred_at),
            lastSyncStatus=event.status,
            lastSyncDurationMs=event.duration_ms,
            lastSyncExecutionId=event.execution_id,
            lastSyncScanStartedAt=started,
        )
        if event.status != "failed":
            account["lastSyncResourceCount"] = event.resource_count
        if event.status == "success":
            account.update(lastSuccessfulSyncResourceCount=event.resource_count)
        return AccountSyncRecorded(previous_success_count=previous)

    def record_scan(self, event: ScanCompleted) -> None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        failed = sum(1 for a in event.accounts if a.status == "failed")
        self.scan_status[event.execution_id].update(
            status="failed" if event.accounts and failed == len(event.accounts) else "completed",
            resourceCount=sum(a.resource_count for a in event.accounts),
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
