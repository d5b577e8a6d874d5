"""In-memory implementations of our own ports, with inspectable state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inventory_core.items import Account
from inventory_events import (
    GLOBAL_REGION,
    AccountScanCompleted,
    AnyEvent,
    Resource,
    ScanCompleted,
    Scope,
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

    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> LockResult:
        holder = self.held.get(account_id)
        if holder and holder[0] != execution_id and holder[1] >= self.now:
            return LockResult(acquired=False, holder=holder[0], expires_at=holder[1])
        self.held[account_id] = (execution_id, self.now + ttl_s)
        stale = holder[0] if holder and holder[0] != execution_id else None
        return LockResult(acquired=True, expires_at=self.now + ttl_s, stale_holder=stale)

    def release(self, account_id: str, execution_id: str) -> None:
        if self.held.get(account_id, ("",))[0] == execution_id:
            del self.held[account_id]


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
    """The projector's table as dicts; mirrors DynamoDbResourceStore's conditions."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    accounts: dict[str, AccountScanCompleted] = field(default_factory=dict)
    scans: dict[str, ScanCompleted] = field(default_factory=dict)

    def upsert_resources(self, resources: list[Resource], execution_id: str) -> int:
        written = 0
        for r in resources:
            current = self.items.get(r.resource_arn)
            if current and current["lastDiscoveredAt"] >= r.discovered_at:
                continue
            self.items[r.resource_arn] = {
                "resource": r,
                "lastDiscoveredAt": r.discovered_at,
                "firstDiscoveredAt": current["firstDiscoveredAt"] if current else r.discovered_at,
                "discoveryStatus": "active",
                "missingSince": None,
            }
            written += 1
        return written

    def mark_page_applied(self, execution_id: str, scope: Scope, page: int) -> None:
        self.pages.setdefault((execution_id, scope.key), set()).add(page)

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        return len(self.pages.get((execution_id, scope.key), set()))

    def mark_missing(self, scope: Scope, seen_before: datetime, now: datetime, expires_at: int) -> int:
        marked = 0
        for item in self.items.values():
            r: Resource = item["resource"]
            in_scope = r.account_id == scope.account_id and r.resource_type == scope.resource_type
            in_scope = in_scope and (scope.region == GLOBAL_REGION or r.region == scope.region)
            if in_scope and item["discoveryStatus"] == "active" and item["lastDiscoveredAt"] < seen_before:
                item.update(discoveryStatus="missing", missingSince=now, ttl=expires_at)
                marked += 1
        return marked

    def record_account_scan(self, event: AccountScanCompleted) -> None:
        self.accounts[event.account_id] = event

    def record_scan(self, event: ScanCompleted) -> None:
        self.scans[event.execution_id] = event
