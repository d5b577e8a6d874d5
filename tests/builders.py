"""Builders of resources, events and SQS Lambda events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from inventory_core.sqs import sqs_event_from_events
from inventory_events import AnyEvent, Resource, ResourcesDiscovered, Scope, ScopeCompleted

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
        status=status,  # type: ignore[arg-type]
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
