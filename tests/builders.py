"""Builders of resources, events and SQS Lambda events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import HTTPHeaders
from inventory_core.items import ResourceItem
from inventory_core.sqs import sqs_event_from_events
from inventory_core.timefmt import iso
from inventory_events import (
    GLOBAL_REGION,
    AccountScanCompleted,
    AccountSummary,
    AnyEvent,
    Resource,
    ResourcesDiscovered,
    ScanCompleted,
    Scope,
    ScopeCompleted,
)

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def resource(
    n: int = 0,
    *,
    account_id: str = "111111111111",
    region: str = "us-east-1",
    resource_type: str = "ec2",
    at: datetime = T0,
    name: str | None = None,
    state: str = "running",
) -> Resource:
    rid = f"i-{n:017x}"
    return Resource(
        resource_id=rid,
        resource_arn=f"arn:aws:ec2:{region}:{account_id}:instance/{rid}",
        resource_type=resource_type,
        account_id=account_id,
        region=region,
        name=name or f"web-{n:04d}",
        state=state,
        tags={"Name": name or f"web-{n:04d}", "team": "platform"},
        metadata={"InstanceType": "t3.micro"},
        discovered_at=at,
        raw={"InstanceId": rid, "State": {"Name": state}},
    )


def scope(account_id: str = "111111111111", region: str = "us-east-1", resource_type: str = "ec2") -> Scope:
    return Scope(account_id=account_id, region=region, resource_type=resource_type)


def page(
    resources: list[Resource], *, execution_id: str = "exec-1", page_no: int = 1, started: datetime = T0
) -> ResourcesDiscovered:
    first = resources[0] if resources else None
    sc = scope(first.account_id, first.region, first.resource_type) if first else scope()
    return ResourcesDiscovered(
        execution_id=execution_id, scope=sc, page=page_no, scan_started_at=started, resources=resources
    )


def scope_completed(
    sc: Scope,
    *,
    execution_id: str = "exec-1",
    pages: int = 1,
    count: int = 0,
    started: datetime = T0,
    status: str = "complete",
) -> ScopeCompleted:
    return ScopeCompleted(
        execution_id=execution_id,
        scope=sc,
        status=status,
        resource_count=count,
        page_count=pages,
        scan_started_at=started,
        error=None if status == "complete" else "AccessDenied",
    )


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sqs_event(*events: AnyEvent, queue: str = "ddb-projector") -> dict[str, Any]:
    return sqs_event_from_events(
        list(events), queue_arn=f"arn:aws:sqs:us-east-1:123456789012:{queue}", region="us-east-1"
    )


def new_execution() -> str:
    return str(uuid.uuid4())


def account_completed(
    account_id: str = "111111111111",
    *,
    execution_id: str = "exec-1",
    count: int = 0,
    status: str = "success",
    started: datetime = T0,
    duration_ms: int = 1000,
) -> AccountScanCompleted:
    return AccountScanCompleted(
        execution_id=execution_id,
        account_id=account_id,
        status=status,
        resource_count=count,
        duration_ms=duration_ms,
        scan_started_at=started,
        occurred_at=started + timedelta(milliseconds=duration_ms),
        error=None if status == "success" else "AccessDenied",
    )


def expected_inventory(events: list[AnyEvent], retention: timedelta = timedelta(days=30)) -> dict[str, dict[str, Any]]:
    """The projector's truth for a set of events, whatever their order: resource items by ARN.

    Newest observation wins; firstDiscoveredAt is the oldest; a resource is missing since the earliest
    complete scope scan that started after its newest observation.
    """
    seen: dict[str, list[tuple[Resource, str]]] = {}
    sweeps: list[tuple[Scope, datetime]] = []
    for e in events:
        if isinstance(e, ResourcesDiscovered):
            for r in e.resources:
                seen.setdefault(r.resource_arn, []).append((r, e.execution_id))
        elif isinstance(e, ScopeCompleted) and e.status == "complete":
            sweeps.append((e.scope, e.scan_started_at))
    truth: dict[str, dict[str, Any]] = {}
    for arn, observations in seen.items():
        newest, execution_id = max(observations, key=lambda o: o[0].discovered_at)
        last = newest.discovered_at
        after = [
            started
            for sc, started in sweeps
            if sc.account_id == newest.account_id
            and sc.resource_type == newest.resource_type
            and sc.region in (GLOBAL_REGION, newest.region)
            and started > last
        ]
        item: dict[str, Any] = {
            "resourceArn": arn,
            "resourceId": newest.resource_id,
            "accountId": newest.account_id,
            "region": newest.region,
            "resourceType": newest.resource_type,
            "name": newest.name,
            "state": newest.state,
            "tags": dict(newest.tags),
            "metadata": dict(newest.metadata),
            "lastDiscoveredAt": iso(last),
            "firstDiscoveredAt": iso(min(o[0].discovered_at for o in observations)),
            "lastExecutionId": execution_id,
            "discoveryStatus": "missing" if after else "active",
        }
        if after:
            item["missingSince"] = iso(min(after))
            item["ttl"] = int((min(after) + retention).timestamp())
        truth[arn] = item
    return truth


def scan_events(
    execution_id: str,
    started: datetime,
    resources: list[Resource],
    *,
    scopes: list[Scope] | None = None,
    failed: frozenset[str] = frozenset(),
    page_size: int = 2,
) -> list[AnyEvent]:
    """Every event one scan emits for the projector: pages, ScopeCompleted, AccountScanCompleted, ScanCompleted.

    ``scopes`` adds scopes that were listed but empty; a scope whose key is in ``failed`` ends failed after
    its pages (as a scope that is throttled out midway).
    """
    by_scope: dict[str, tuple[Scope, list[Resource]]] = {}
    for sc in scopes or []:
        by_scope.setdefault(sc.key, (sc, []))
    for r in resources:
        sc = scope(r.account_id, r.region, r.resource_type)
        by_scope.setdefault(sc.key, (sc, []))[1].append(r)
    events: list[AnyEvent] = []
    per_account: dict[str, list[ScopeCompleted]] = {}
    for key, (sc, found) in by_scope.items():
        chunks = [found[i : i + page_size] for i in range(0, len(found), page_size)]
        for n, chunk in enumerate(chunks, start=1):
            events.append(page(chunk, execution_id=execution_id, page_no=n, started=started))
        status = "failed" if key in failed else "complete"
        done = scope_completed(sc, execution_id=execution_id, pages=len(chunks), count=len(found), started=started)
        done = done.model_copy(update={"status": status, "error": "Throttling" if key in failed else None})
        events.append(done)
        per_account.setdefault(sc.account_id, []).append(done)
    summaries = []
    for account_id, done_scopes in per_account.items():
        failed_n = sum(1 for d in done_scopes if d.status == "failed")
        status = "success" if not failed_n else ("failed" if failed_n == len(done_scopes) else "partial")
        count = sum(d.resource_count for d in done_scopes)
        events.append(
            account_completed(account_id, execution_id=execution_id, count=count, status=status, started=started)
        )
        summaries.append(AccountSummary(account_id=account_id, status=status, resource_count=count))
    events.append(
        ScanCompleted(execution_id=execution_id, scan_started_at=started, duration_ms=1000, accounts=summaries)
    )
    return events


def bulk_resource_item(
    i: int, *, account: str, region: str, rtype: str, name: str, tags: dict[str, str], metadata: dict[str, str]
) -> dict[str, Any]:
    """Synthetic resource number ``i`` as the projector stores it, for seeding a large grid (browser tests, the
    API benchmark): seen on one of 25 days, every fourth stopped, every fiftieth missing."""
    rid = f"{rtype}-{i:08d}"
    return ResourceItem(
        account_id=account,
        resource_type=rtype,
        resource_arn=f"arn:aws:{rtype}:{region}:{account}:{rtype}/{rid}",
        resource_id=rid,
        region=region,
        name=name,
        state="running" if i % 4 else "stopped",
        last_discovered_at=f"2026-11-{1 + i % 25:02d}T02:{i % 60:02d}:00.000000Z",
        first_discovered_at="2026-10-01T02:00:00.000000Z",
        tags=tags,
        metadata=metadata,
        discovery_status="missing" if i % 50 == 0 else "active",
    ).to_item()


def http_headers(headers: dict[str, str] | None = None) -> HTTPHeaders:
    """Headers of an injected botocore AWSResponse (a fault a test answers in place of AWS)."""
    found = HTTPHeaders()
    for name, value in (headers or {}).items():
        found[name] = value
    return found
