"""The projector's DynamoDB adapters on a real table (moto): TRD items, access patterns, leases, retries, status."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from botocore.awsrequest import AWSResponse
from ddb_projector.adapters.dynamodb_markers import DynamoDbProcessedEvents
from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore, ScopeBusyError
from ddb_projector.bootstrap import build_service
from ddb_projector.handler import handle_batch
from ddb_projector.settings import ProjectorSettings
from inventory_core.items import (
    ALL_RESOURCES_GSI1PK,
    KEY_ATTRIBUTES,
    Account,
    account_key,
    account_pk,
    event_marker_key,
    region_gsi2pk,
    resource_gsi_keys,
    resource_key,
    scan_account_key,
    scan_status_key,
    scope_lease_key,
    scope_sweeps_key,
    type_gsi3pk,
)
from inventory_events import ScanCompleted

from tests.builders import (
    T0,
    account_completed,
    http_headers,
    later,
    page,
    resource,
    scan_events,
    scope,
    sqs_event,
)
from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator


def items(stack: Stack, account: str = "111111111111") -> dict[str, dict[str, Any]]:
    response = stack.table.query(KeyConditionExpression=Key("pk").eq(account_pk(account)), ConsistentRead=True)
    return {i["resourceArn"]: i for i in response["Items"] if "resourceArn" in i}


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def inject(client: Any, operation: str, times: int, answer: Any) -> dict[str, int]:
    """Answer the next ``times`` calls of ``operation`` with ``answer(request)`` (status, body) instead of moto."""
    state = {"left": times, "sent": 0}

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        state["sent"] += 1
        if state["left"] <= 0:
            return None
        state["left"] -= 1
        status, body = answer(json.loads(request.body))
        return AWSResponse(request.url, status, http_headers(), _Body(json.dumps(body).encode()))

    client.meta.events.register(f"before-send.dynamodb.{operation}", handler)
    return state


def test_resource_item_has_the_trd_shape(stack: Stack) -> None:
    r = resource(7, region="eu-west-1")
    build_service(ProjectorSettings()).handle(page([r], execution_id="e1"))
    item = items(stack)[r.resource_arn]
    # the formats themselves are pinned in tests/unit/core/test_items.py
    assert {k: item[k] for k in KEY_ATTRIBUTES} == {
        **resource_key("111111111111", "ec2", r.resource_arn),
        **resource_gsi_keys(
            account_id="111111111111",
            resource_type="ec2",
            resource_id=r.resource_id,
            region="eu-west-1",
            name="web-0007",
            last_discovered_at="2026-11-25T02:00:00.000000Z",
        ),
    }
    assert (item["resourceId"], item["resourceArn"], item["resourceType"]) == (r.resource_id, r.resource_arn, "ec2")
    assert (item["accountId"], item["name"], item["region"], item["state"]) == (
        "111111111111",
        "web-0007",
        "eu-west-1",
        "running",
    )
    assert item["tags"] == {"Name": "web-0007", "team": "platform"}
    assert item["metadata"] == {"InstanceType": "t3.micro"}
    assert (item["discoveryStatus"], item["lastExecutionId"]) == ("active", "e1")
    assert item["firstDiscoveredAt"] == item["lastDiscoveredAt"] == "2026-11-25T02:00:00.000000Z"
    assert "ttl" not in item
    assert "missingSince" not in item


def test_the_four_trd_access_patterns_find_the_items(stack: Stack) -> None:
    # GIVEN resources of two types in two regions of one account
    (acct,) = unique_accounts(1)
    ec2_east = resource(1, account_id=acct)
    ec2_west = resource(2, account_id=acct, region="us-west-2")
    rds_east = resource(3, account_id=acct, resource_type="rds")
    service = build_service(ProjectorSettings())
    for r in (ec2_east, ec2_west, rds_east):
        service.handle(page([r]))

    def arns(**query: Any) -> set[str]:
        return {i["resourceArn"] for i in stack.table.query(**query)["Items"] if i.get("accountId") == acct}

    # WHEN / THEN each TRD access pattern answers with its slice
    everything = {ec2_east.resource_arn, ec2_west.resource_arn, rds_east.resource_arn}
    assert arns(KeyConditionExpression=Key("pk").eq(account_pk(acct))) == everything
    assert arns(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_RESOURCES_GSI1PK)) == everything
    assert arns(IndexName="gsi2", KeyConditionExpression=Key("gsi2pk").eq(region_gsi2pk("us-west-2"))) == {
        ec2_west.resource_arn
    }
    assert arns(IndexName="gsi3", KeyConditionExpression=Key("gsi3pk").eq(type_gsi3pk("rds"))) == {
        rds_east.resource_arn
    }
    by_type_and_region = arns(
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq(ALL_RESOURCES_GSI1PK) & Key("gsi1sk").begins_with("ec2#us-east-1#"),
    )
    assert by_type_and_region == {ec2_east.resource_arn}


def test_concurrent_pages_of_two_scans_keep_the_newest_observation(stack: Stack) -> None:
    # GIVEN pages of an old and a new scan for the same brand-new resources, applied at the same time
    (acct,) = unique_accounts(1)
    store = DynamoDbResourceStore(stack.table)
    old = [resource(n, account_id=acct, at=later(1), state="running") for n in range(30)]
    new = [resource(n, account_id=acct, at=later(61), state="stopped") for n in range(30)]
    barrier = threading.Barrier(2)

    def apply(resources: list[Any], execution_id: str) -> None:
        barrier.wait()
        store.apply_page(page(resources, execution_id=execution_id))

    # WHEN both run concurrently
    threads = [threading.Thread(target=apply, args=args) for args in ((old, "old"), (new, "new"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN every item shows the new scan and remembers the old one as first seen
    state = items(stack, acct)
    assert {(i["state"], i["lastExecutionId"]) for i in state.values()} == {("stopped", "new")}
    assert {i["firstDiscoveredAt"] for i in state.values()} == {"2026-11-25T02:01:00.000000Z"}


def test_a_scope_held_by_another_writer_is_retried_later(stack: Stack) -> None:
    (acct,) = unique_accounts(1)
    stack.table.put_item(
        Item={
            **scope_lease_key(scope(acct).key),
            "holder": "x",
            "expiresAtMs": int(time.time() * 1000) + 60_000,
        }
    )
    store = DynamoDbResourceStore(stack.table, lease_wait_s=0.2)
    with pytest.raises(ScopeBusyError):
        store.apply_page(page([resource(1, account_id=acct)]))
    assert items(stack, acct) == {}


def test_an_expired_lease_of_a_dead_writer_is_taken_over(stack: Stack) -> None:
    (acct,) = unique_accounts(1)
    stack.table.put_item(
        Item={
            **scope_lease_key(scope(acct).key),
            "holder": "x",
            "expiresAtMs": int(time.time() * 1000) - 1,
        }
    )
    DynamoDbResourceStore(stack.table, lease_wait_s=0.2).apply_page(page([resource(1, account_id=acct)]))
    assert set(items(stack, acct)) == {resource(1, account_id=acct).resource_arn}


def test_throttled_batch_writes_are_retried_until_they_land(stack: Stack) -> None:
    # GIVEN DynamoDB throttles a BatchWriteItem call, then answers one with every item unprocessed
    (acct,) = unique_accounts(1)
    table = stack.table
    throttled = inject(
        table.meta.client,
        "BatchWriteItem",
        1,
        lambda _req: (
            400,
            {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"},
        ),
    )
    store = DynamoDbResourceStore(table, backoff_base_s=0.01)
    first = [resource(n, account_id=acct) for n in range(30)]
    # WHEN a page is written
    store.apply_page(page(first, execution_id="e1"))
    # THEN botocore's retries absorbed the throttling
    assert len(items(stack, acct)) == 30
    assert throttled["left"] == 0
    unprocessed = inject(
        table.meta.client, "BatchWriteItem", 1, lambda req: (200, {"UnprocessedItems": req["RequestItems"]})
    )
    second = [resource(n, account_id=acct, at=later(60)) for n in range(30, 40)]
    store.apply_page(page(second, execution_id="e2", started=later(59)))
    assert len(items(stack, acct)) == 40
    assert unprocessed["sent"] == 3  # the grid journal's batch: unprocessed, then resent; then the items' batch


def test_processed_markers_expire(stack: Stack) -> None:
    markers = DynamoDbProcessedEvents(stack.table)
    done, stale, unknown = page([resource(1)]), page([resource(2)]), page([resource(3)])
    markers.mark_processed(done.event_id, later(0).replace(year=2100))
    markers.mark_processed(stale.event_id, T0 - timedelta(days=1))
    assert [markers.is_processed(e.event_id) for e in (done, stale, unknown)] == [True, False, False]
    ttl = stack.table.get_item(Key=event_marker_key(done.event_id))["Item"]["ttl"]
    assert int(ttl) == int(later(0).replace(year=2100).timestamp())


def test_scan_execution_item_shows_a_running_scan_then_its_end(stack: Stack) -> None:
    # GIVEN a scheduled scan (nobody wrote SCAN#/STATUS) of two accounts with two scopes each
    a, b = unique_accounts(2)
    for acct in (a, b):
        stack.table.put_item(Item=Account(acct, acct, True).to_item())
    events = scan_events(
        "run-1",
        T0,
        [
            resource(n, account_id=acct, region=region)
            for acct in (a, b)
            for region in ("us-east-1", "eu-west-1")
            for n in (1, 2)
        ],
    )
    service = build_service(ProjectorSettings())
    scopes_a = [e for e in events if e.event_type == "ScopeCompleted" and e.scope.account_id == a]
    pages = [e for e in events if e.event_type == "ResourcesDiscovered"]
    # WHEN the pages and one ScopeCompleted of account a are in (twice, as a duplicate past its marker)
    handle_batch(sqs_event(*pages, scopes_a[0]), None, service)
    stack.table.delete_item(Key=event_marker_key(scopes_a[0].event_id))
    handle_batch(sqs_event(scopes_a[0]), None, service)

    def scan_item(account_id: str | None = None) -> dict[str, Any]:
        key = scan_account_key("run-1", account_id) if account_id else scan_status_key("run-1")
        item: dict[str, Any] = stack.table.get_item(Key=key)["Item"]
        return item

    # THEN the scan is in progress and account a has one scope done, counted once
    assert (scan_item()["status"], scan_item()["startedAt"]) == (
        "in_progress",
        "2026-11-25T02:00:00.000000Z",
    )
    progress = scan_item(a)
    assert (progress["status"], progress["scopesDone"], progress["accountId"]) == ("in_progress", 1, a)
    # WHEN everything else arrives, ScanCompleted before the last AccountScanCompleted
    rest = [e for e in events if e.event_type in ("ScopeCompleted",) and e is not scopes_a[0]]
    scan_done = next(e for e in events if isinstance(e, ScanCompleted))
    accounts_done = [e for e in events if e.event_type == "AccountScanCompleted"]
    handle_batch(sqs_event(*rest, accounts_done[0], scan_done, accounts_done[1]), None, service)
    # THEN the scan is completed with its totals and each account's progress is final
    status = scan_item()
    assert (status["status"], status["resourceCount"], status["accountCount"], status["accountsFailed"]) == (
        "completed",
        8,
        2,
        0,
    )
    assert status["accountsSkipped"] == 0
    for acct in (a, b):
        progress = scan_item(acct)
        assert (progress["status"], progress["scopesDone"], progress["resourceCount"]) == ("success", 2, 4)


def test_an_older_account_scan_arriving_late_does_not_regress_the_account(stack: Stack) -> None:
    (acct,) = unique_accounts(1)
    stack.table.put_item(Item=Account(acct, "Prod", True).to_item())
    service = build_service(ProjectorSettings())
    service.handle(account_completed(acct, execution_id="s2", count=9, started=later(60), duration_ms=4321))
    service.handle(account_completed(acct, execution_id="s1", count=3, status="partial", started=T0))
    account = stack.table.get_item(Key=account_key(acct))["Item"]
    assert (account["lastSyncStatus"], account["lastSyncResourceCount"], account["lastSyncDurationMs"]) == (
        "success",
        9,
        4321,
    )
    assert (account["lastSyncExecutionId"], account["lastSyncedAt"]) == ("s2", "2026-11-25T03:00:04.321000Z")
    assert (account["accountName"], account["syncEnabled"]) == ("Prod", True)


def test_a_bad_record_fails_alone_in_its_batch(stack: Stack) -> None:
    service = build_service(ProjectorSettings())
    foreign = page([resource(3)]).model_copy(update={"scope": scope(region="eu-west-1")})
    event = sqs_event(page([resource(1)]), page([resource(2)], page_no=2), foreign)
    event["Records"][1]["body"] = '{"event_type": "ResourcesDiscovered", "broken": true}'
    response = handle_batch(event, None, service)
    assert response["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][1]["messageId"]},
        {"itemIdentifier": event["Records"][2]["messageId"]},
    ]
    assert set(items(stack)) == {resource(1).resource_arn}


def test_a_batch_whose_every_record_fails_does_not_fail_the_invocation(stack: Stack) -> None:
    # (an early ScopeCompleted no longer fails at all: tests/integration/test_projector_parking.py)
    event = sqs_event(page([resource(1)]), page([resource(2)], page_no=2))
    for record in event["Records"]:
        record["body"] = '{"event_type": "ResourcesDiscovered", "broken": true}'
    response = handle_batch(event, None, build_service(ProjectorSettings()))
    assert len(response["batchItemFailures"]) == 2


def test_a_sweep_after_items_vanished_by_ttl_recounts_the_scope_and_still_finds_the_missing(stack: Stack) -> None:
    # GIVEN a scope of three resources, one of which DynamoDB's TTL later deletes
    (acct,) = unique_accounts(1)
    service = build_service(ProjectorSettings())
    for event in scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in range(3)]):
        service.handle(event)
    stack.table.delete_item(Key=resource_key(acct, "ec2", resource(2, account_id=acct).resource_arn))

    def item_count() -> int:
        return int(stack.table.get_item(Key=scope_sweeps_key(scope(acct).key))["Item"]["itemCount"])

    assert item_count() == 3
    # WHEN scan 2 sees only resource 0: the count (3) is above what it saw (1), so the sweep looks
    for event in scan_events("s2", later(60), [resource(0, account_id=acct, at=later(61))]):
        service.handle(event)
    # THEN resource 1 is missing, and the scope is recounted from the table
    state = items(stack, acct)
    assert {arn[-1]: i["discoveryStatus"] for arn, i in state.items()} == {"0": "active", "1": "missing"}
    assert item_count() == 2
