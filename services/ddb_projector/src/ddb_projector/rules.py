"""The projector's decisions, in one place: pure functions of what a store holds and what an event says.

No boto3 and no I/O: the DynamoDB store calls these under its scope lease, the in-memory fake of the tests
calls the same ones, so a test of either exercises the one copy of each rule.

- Newest observation wins: a sighting is written only if it is newer than the stored one
  (``lastDiscoveredAt``); ``firstDiscoveredAt`` keeps the oldest sighting of all.
- ``missingSince`` is the **start of the complete scan that did not find the resource** (the earliest such
  scan when several did), never the time a consumer happened to process the sweep. It is a fact of the
  scans alone, so the same events give the same value in any order, on a redelivery or a redrive days
  later, and in both stores (the lake writer uses the same definition); the ttl derived from it is as
  stable. It is comparable with ``lastDiscoveredAt``: the resource was seen at lastDiscoveredAt and was
  gone when the scan that missed it started.
- Each complete sweep of a scope records its scan start there (kept for ``sweep_memory``); a sighting
  older than a recorded sweep is written as missing since the earliest sweep after it, so a late page of
  an older scan cannot revive a resource a newer complete scan did not find.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from inventory_core.timefmt import iso, parse_iso
from inventory_events import GLOBAL_REGION, AccountScanCompleted, Resource, ScanCompleted, Scope, ScopeCompleted

ACTIVE = "active"
MISSING = "missing"


@dataclass(frozen=True)
class Stored:
    """What the rules read of a stored resource item (ISO 8601 UTC strings, fixed width, so they sort)."""

    last_discovered_at: str
    first_discovered_at: str
    discovery_status: str = ACTIVE
    missing_since: str | None = None


@dataclass(frozen=True)
class Write:
    """Write the whole item for this sighting (it is newer than the stored one, or nothing is stored)."""

    resource: Resource
    first_discovered_at: str
    missing_since: str | None


@dataclass(frozen=True)
class LowerFirst:
    """Keep the stored item; only its firstDiscoveredAt moves back to this older sighting."""

    resource_arn: str
    first_discovered_at: str


@dataclass(frozen=True)
class PagePlan:
    """The writes one page makes: whole items, and first-seen corrections of items a newer sighting holds."""

    writes: list[Write] = field(default_factory=list)
    lower_first: list[LowerFirst] = field(default_factory=list)


def newest_per_arn(resources: Iterable[Resource]) -> list[Resource]:
    """One resource per ARN, the newest sighting (a page may repeat one; a batch write refuses two per key)."""
    newest: dict[str, Resource] = {}
    for r in resources:
        if r.resource_arn not in newest or r.discovered_at > newest[r.resource_arn].discovered_at:
            newest[r.resource_arn] = r
    return list(newest.values())


def missing_since(seen: str, sweeps: Collection[str]) -> str | None:
    """The start of the earliest recorded complete sweep that began after a sighting at ``seen``, if any."""
    after = [started for started in sweeps if started > seen]
    return min(after) if after else None


def missing_ttl(since: str, retention: timedelta) -> int:
    """Epoch seconds at which a missing item expires: missingSince plus the retention."""
    return int((parse_iso(since) + retention).timestamp())


def plan_page(resources: Iterable[Resource], stored: Mapping[str, Stored], sweeps: Collection[str]) -> PagePlan:
    """What a page changes, given the stored items of its resources (by ARN) and the scope's recorded sweeps."""
    plan = PagePlan()
    for r in newest_per_arn(resources):
        seen, current = iso(r.discovered_at), stored.get(r.resource_arn)
        if current is None or seen > current.last_discovered_at:
            first = seen if current is None else min(seen, current.first_discovered_at)
            plan.writes.append(Write(r, first, missing_since(seen, sweeps)))
        elif seen < current.first_discovered_at:
            plan.lower_first.append(LowerFirst(r.resource_arn, seen))
    return plan


def in_scope(scope: Scope, account_id: str, resource_type: str, region: str) -> bool:
    """True if a resource of this account, type and region belongs to the scope (a global scope spans regions)."""
    return (
        account_id == scope.account_id
        and resource_type == scope.resource_type
        and (scope.region == GLOBAL_REGION or region == scope.region)
    )


def missed_by_sweep(item: Stored, sweep_started: str) -> bool:
    """True if a complete sweep started at ``sweep_started`` makes the item missing since that start.

    It was last seen before the sweep started, and it is active or missing since a later sweep (an older
    sweep processed late moves missingSince back to the earliest scan that missed it).
    """
    if item.last_discovered_at >= sweep_started:
        return False
    return item.discovery_status == ACTIVE or (item.missing_since or "") > sweep_started


def remembered_sweeps(starts: Iterable[str], sweep_started: datetime, memory: timedelta) -> set[str]:
    """The scope's recorded sweep starts after this one: this one added, those older than ``memory`` before it
    forgotten (a page older than that is not expected any more)."""
    horizon = iso(sweep_started - memory)
    return {started for started in starts if started >= horizon} | {iso(sweep_started)}


def is_later_scan(recorded_started: str | None, started: str) -> bool:
    """An account takes a scan's status only from a scan that started strictly later than the recorded one."""
    return recorded_started is None or recorded_started < started


def account_sync_values(event: AccountScanCompleted) -> dict[str, object]:
    """The Account item's sync attributes a later scan sets; a failed scan keeps the last count."""
    values: dict[str, object] = {
        "lastSyncedAt": iso(event.occurred_at),
        "lastSyncStatus": event.status,
        "lastSyncDurationMs": event.duration_ms,
        "lastSyncExecutionId": event.execution_id,
        "lastSyncScanStartedAt": iso(event.scan_started_at),
    }
    if event.status != "failed":
        values["lastSyncResourceCount"] = event.resource_count
    if event.status == "success":
        values["lastSuccessfulSyncResourceCount"] = event.resource_count
        values["lastSuccessfulSyncExecutionId"] = event.execution_id
    return values


def scope_counter(event: ScopeCompleted) -> Literal["scopesDone", "scopesFailed"]:
    """The per-account progress counter a scope's completion adds one to (once per scope)."""
    return "scopesDone" if event.status == "complete" else "scopesFailed"


@dataclass(frozen=True)
class ScopeProgress:
    """What a scope's completion adds to its account's progress: its key to the counted set, one to a counter."""

    scope_key: str
    counter: Literal["scopesDone", "scopesFailed"]


def scope_progress(counted: Collection[str], event: ScopeCompleted) -> ScopeProgress | None:
    """Count each scope once: nothing if its key is among the ``counted`` ones already (a redelivered or
    repeated completion, or one a page writer swept as well), else its key and counter."""
    if event.scope.key in counted:
        return None
    return ScopeProgress(event.scope.key, scope_counter(event))


def sweep_due(pages_applied: int, completion: ScopeCompleted | None) -> bool:
    """A complete scope is swept once all its pages are applied; a completion that arrives earlier is parked
    and swept by the writer of its last page (or by itself, if that page landed while it parked)."""
    return completion is not None and completion.status == "complete" and pages_applied >= completion.page_count


def scan_outcome(event: ScanCompleted) -> Literal["failed", "completed"]:
    """A scan failed only if every account of it failed."""
    failed = sum(1 for a in event.accounts if a.status == "failed")
    return "failed" if event.accounts and failed == len(event.accounts) else "completed"
