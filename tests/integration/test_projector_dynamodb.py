"""The projector on a real table (moto): TRD items, conditional writes, the missing-resource protocol."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore
from ddb_projector.handler import handle_batch
from ddb_projector.service import ProjectorService
from inventory_core.items import Account
from inventory_events import AccountScanCompleted, ScopeSummary

from tests.builders import T0, later, page, resource, scope, scope_completed, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


def service(stack: Stack) -> ProjectorService:
    return ProjectorService(DynamoDbResourceStore(stack.table), retention=timedelta(days=30), clock=lambda: later(120))


def items(stack: Stack, account: str = "111111111111") -> dict[str, dict[str, Any]]:
    response = stack.table.query(KeyConditionExpression=Key("pk").eq(f"ACCOUNT#{account}"))
    return {i["resourceArn"]: i for i in response["Items"] if "resourceArn" in i}


def test_resource_item_has_the_trd_shape(stack: Stack) -> None:
    r = resource(7, region="eu-west-1")
    service(stack).handle(page([r], execution_id="e1"))
    item = items(stack)[r.resource_arn]
    assert item["pk"] == "ACCOUNT#111111111111"
    assert item["sk"] == f"INVENTORY#ec2#{r.resource_arn}"
    assert (item["gsi1pk"], item["gsi1sk"]) == ("TYPE#INVENTORY", "ec2#eu-west-1#web-0007")
    assert (item["gsi2pk"], item["gsi2sk"]) == ("REGION#eu-west-1", "ec2#2026-11-25T02:00:00.000000Z")
    assert (item["gsi3pk"], item["gsi3sk"]) == ("RESOURCE_TYPE#ec2", f"111111111111#{r.resource_id}")
    assert item["tags"] == {"Name": "web-0007", "team": "platform"}
    assert item["metadata"] == {"InstanceType": "t3.micro"}
    assert item["discoveryStatus"] == "active"
    assert item["firstDiscoveredAt"] == item["lastDiscoveredAt"] == "2026-11-25T02:00:00.000000Z"
    assert "ttl" not in item


def test_second_delivery_and_older_pages_change_nothing(stack: Stack) -> None:
    svc = service(stack)
    r_new = resource(1, at=later(60), state="stopped")
    svc.handle(page([r_new], execution_id="new", started=later(59)))
    before = items(stack)
    svc.handle(page([r_new], execution_id="new", started=later(59)))  # duplicate
    svc.handle(page([resource(1, at=T0, state="running")], execution_id="old"))  # older scan, late
    assert items(stack) == before
    assert before[r_new.resource_arn]["state"] == "stopped"


def test_missing_then_seen_again_becomes_active_and_keeps_first_seen(stack: Stack) -> None:
    svc = service(stack)
    keep, gone = resource(1), resource(2)
    svc.handle(page([keep, gone], execution_id="s1"))
    svc.handle(scope_completed(scope(), execution_id="s1", pages=1, count=2))
    # scan 2 does not see `gone`
    svc.handle(page([resource(1, at=later(60))], execution_id="s2", started=later(59)))
    svc.handle(scope_completed(scope(), execution_id="s2", pages=1, count=1, started=later(59)))
    state = items(stack)
    assert state[gone.resource_arn]["discoveryStatus"] == "missing"
    assert state[gone.resource_arn]["missingSince"] == "2026-11-25T04:00:00.000000Z"
    assert state[gone.resource_arn]["ttl"] == int((later(120) + timedelta(days=30)).timestamp())
    assert state[keep.resource_arn]["discoveryStatus"] == "active"
    # scan 3 sees it again
    svc.handle(page([resource(2, at=later(90))], execution_id="s3", started=later(89)))
    back = items(stack)[gone.resource_arn]
    assert back["discoveryStatus"] == "active"
    assert "missingSince" not in back
    assert "ttl" not in back
    assert back["firstDiscoveredAt"] == "2026-11-25T02:00:00.000000Z"


def test_sweep_is_limited_to_its_region_and_type(stack: Stack) -> None:
    svc = service(stack)
    east, west = resource(1, region="us-east-1"), resource(2, region="us-west-2")
    svc.handle(page([east]))
    svc.handle(page([west]))
    svc.handle(scope_completed(scope(region="us-east-1"), execution_id="s2", pages=0, started=later(59)))
    state = items(stack)
    assert state[east.resource_arn]["discoveryStatus"] == "missing"
    assert state[west.resource_arn]["discoveryStatus"] == "active"


def test_account_sync_status_is_recorded(stack: Stack) -> None:
    stack.table.put_item(Item=Account("111111111111", "Prod", True).to_item())
    event = AccountScanCompleted(
        execution_id="s1",
        account_id="111111111111",
        status="success",
        resource_count=3,
        duration_ms=1234,
        scan_started_at=T0,
        scopes=[ScopeSummary(scope=scope(), status="complete", resource_count=3, page_count=1)],
    )
    service(stack).handle(event)
    account = stack.table.get_item(Key={"pk": "ACCOUNT#111111111111", "sk": "METADATA"})["Item"]
    assert (account["lastSyncStatus"], account["lastSyncResourceCount"], account["lastSyncDurationMs"]) == (
        "success",
        3,
        1234,
    )
    assert account["lastSyncExecutionId"] == "s1"


def test_a_bad_record_fails_alone_in_its_batch(stack: Stack) -> None:
    good = page([resource(1)])
    event = sqs_event(good, page([resource(2)], page_no=2))
    event["Records"][1]["body"] = '{"event_type": "ResourcesDiscovered", "broken": true}'
    response = handle_batch(event, None, service(stack))
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["messageId"]}]
    assert set(items(stack)) == {resource(1).resource_arn}
