"""The projector under every order and repetition SQS can produce, on the emulator; the table must equal the truth."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from ddb_projector.bootstrap import build_service
from ddb_projector.handler import handle_batch
from ddb_projector.service import ProjectorService
from ddb_projector.settings import ProjectorSettings
from inventory_core.items import (
    KEY_ATTRIBUTES,
    Account,
    account_key,
    account_pk,
    resource_gsi_keys,
    resource_key,
    resource_sk_prefix,
    scan_account_key,
)
from inventory_core.publisher import SnsEventPublisher
from inventory_core.sqs import SqsLambdaPoller
from inventory_events import AnyEvent

from tests.builders import T0, account_completed, expected_inventory, later, resource, scan_events, scope, sqs_event
from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator

COMPARED = (
    "resourceArn",
    "resourceId",
    "accountId",
    "region",
    "resourceType",
    "name",
    "state",
    "tags",
    "metadata",
    "lastDiscoveredAt",
    "firstDiscoveredAt",
    "lastExecutionId",
    "discoveryStatus",
    "missingSince",
    "ttl",
)


def projector() -> ProjectorService:
    return build_service(ProjectorSettings())


def table_items(stack: Stack, account: str) -> dict[str, dict[str, Any]]:
    response = stack.table.query(
        KeyConditionExpression=Key("pk").eq(account_pk(account)) & Key("sk").begins_with(resource_sk_prefix()),
        ConsistentRead=True,
    )
    return {i["resourceArn"]: i for i in response["Items"]}


def assert_table_is_truth(stack: Stack, accounts: Sequence[str], events: Sequence[AnyEvent]) -> None:
    """Every resource item of the accounts equals, attribute by attribute, what the events say is true."""
    truth = expected_inventory(list(events))
    for account in accounts:
        items = table_items(stack, account)
        expected = {arn: item for arn, item in truth.items() if item["accountId"] == account}
        assert set(items) == set(expected), account
        for arn, item in items.items():
            want = expected[arn]
            got = {k: (int(item[k]) if k == "ttl" else item[k]) for k in COMPARED if k in item}
            assert got == want, arn
            resource_type, region, name, seen = (
                want["resourceType"],
                want["region"],
                want["name"],
                want["lastDiscoveredAt"],
            )
            assert {k: item[k] for k in KEY_ATTRIBUTES} == {
                **resource_key(account, resource_type, arn),
                **resource_gsi_keys(
                    account_id=account,
                    resource_type=resource_type,
                    resource_id=want["resourceId"],
                    region=region,
                    name=name,
                    last_discovered_at=seen,
                ),
            }


def deliver(service: ProjectorService, deliveries: Sequence[AnyEvent], batch_size: int = 10) -> int:
    """Feed the handler as an SQS event source would: batches; failed records come back later. Returns retries."""
    queue = list(deliveries)
    retries = 0
    for _ in range(200):
        if not queue:
            return retries
        batch, queue = queue[:batch_size], queue[batch_size:]
        event = sqs_event(*batch)
        failed = {f["itemIdentifier"] for f in handle_batch(event, None, service)["batchItemFailures"]}
        for record, original in zip(event["Records"], batch, strict=True):
            if record["messageId"] in failed:
                queue.append(original)
                retries += 1
    raise AssertionError(f"{len(queue)} messages never landed")


def register(stack: Stack, *accounts: str) -> None:
    for account in accounts:
        stack.table.put_item(Item=Account(account, f"acct-{account}", True).to_item())


def account_item(stack: Stack, account: str) -> dict[str, Any]:
    item: dict[str, Any] = stack.table.get_item(Key=account_key(account))["Item"]
    return item


def test_every_message_delivered_twice_through_sns_and_sqs_gives_the_truth(stack: Stack) -> None:
    # GIVEN two scans of one account, each event published twice (an SNS duplicate is a new SQS message)
    (acct,) = unique_accounts(1)
    register(stack, acct)
    s1 = scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in range(5)])
    s2 = scan_events("s2", later(60), [resource(n, account_id=acct, at=later(61)) for n in range(1, 6)])
    publisher = SnsEventPublisher(stack.clients.client("sns"), stack.env["EVENTS_TOPIC_ARN"])
    for events in (s1, s2):
        publisher.publish([e for e in events for _ in range(2)])
    # WHEN the projector drains its queue
    service = projector()
    sqs = stack.clients.client("sqs")
    poller = SqsLambdaPoller(
        sqs, stack.env["DDB_PROJECTOR_QUEUE_URL"], lambda e, c: handle_batch(e, c, service), wait_s=0
    )
    for _ in range(50):
        if poller.poll_once(wait_s=0) == 0 and poller.backlog() == 0:
            break
    # THEN the table is the truth, the account shows scan 2, and nothing went to the DLQ
    assert_table_is_truth(stack, [acct], s1 + s2)
    assert account_item(stack, acct)["lastSyncExecutionId"] == "s2"
    assert poller.processed == 2 * len(s1 + s2)


# One seed on the emulator (about 15-40 s on the loaded 2-vCPU machine): the unit tests run 40 seeds against
# the fake, and test_projector_contract.py shows the fake and this store take the same decisions (rules.py).
@pytest.mark.parametrize("seed", [1])
def test_all_messages_of_two_scans_shuffled_and_repeated_give_the_truth(stack: Stack, seed: int) -> None:
    # GIVEN two scans over two accounts and two regions, resources coming and going, some messages doubled
    rng = random.Random(seed)
    a, b = unique_accounts(2)
    register(stack, a, b)
    first = [
        resource(n, account_id=acct, region=reg, at=later(1))
        for acct in (a, b)
        for reg in ("us-east-1", "eu-west-1")
        for n in range(0, 6)
    ]
    second = [
        resource(n, account_id=acct, region=reg, at=later(61), state="stopped")
        for acct in (a, b)
        for reg in ("us-east-1", "eu-west-1")
        for n in range(2, 8)
    ]
    events = scan_events("s1", T0, first, page_size=2) + scan_events("s2", later(60), second, page_size=2)
    deliveries = events + rng.sample(events, k=len(events) // 3)
    rng.shuffle(deliveries)
    # WHEN they arrive in that order
    deliver(projector(), deliveries)
    # THEN
    assert_table_is_truth(stack, [a, b], events)


def test_scope_completed_before_its_pages_waits_for_them(stack: Stack) -> None:
    (acct,) = unique_accounts(1)
    s1 = scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in range(4)])
    s2 = scan_events("s2", later(60), [resource(n, account_id=acct, at=later(61)) for n in range(2)])
    service = projector()
    deliver(service, s1)
    done = next(e for e in s2 if e.event_type == "ScopeCompleted")
    # WHEN the ScopeCompleted of scan 2 comes before its pages, it is parked (no failure) and marks nothing
    response = handle_batch(sqs_event(done), None, service)
    assert response["batchItemFailures"] == []
    assert {i["discoveryStatus"] for i in table_items(stack, acct).values()} == {"active"}
    # THEN once the pages are in, the last page's writer sweeps, without any retry
    retries = deliver(service, [e for e in s2 if e is not done])
    assert retries == 0
    assert_table_is_truth(stack, [acct], s1 + s2)


def test_a_newer_scans_page_processed_before_an_older_one_keeps_the_newer(stack: Stack) -> None:
    (acct,) = unique_accounts(1)
    old = scan_events("old", T0, [resource(1, account_id=acct, at=later(1), state="running")])
    new = scan_events("new", later(60), [resource(1, account_id=acct, at=later(61), state="stopped")])
    deliver(projector(), new + old)
    item = table_items(stack, acct)[resource(1, account_id=acct).resource_arn]
    assert (item["state"], item["lastExecutionId"]) == ("stopped", "new")
    assert item["firstDiscoveredAt"] == "2026-11-25T02:01:00.000000Z"  # the older scan saw it first
    assert_table_is_truth(stack, [acct], new + old)


def test_a_failed_scope_marks_nothing_missing(stack: Stack) -> None:
    # GIVEN scan 2 lists us-east-1 only partly (throttled out) and eu-west-1 completely
    (acct,) = unique_accounts(1)
    register(stack, acct)
    east, west = scope(acct, "us-east-1"), scope(acct, "eu-west-1")
    s1 = scan_events(
        "s1",
        T0,
        [resource(n, account_id=acct, region=r, at=later(1)) for r in ("us-east-1", "eu-west-1") for n in range(3)],
    )
    s2 = scan_events(
        "s2",
        later(60),
        [resource(0, account_id=acct, at=later(61)), resource(0, account_id=acct, region="eu-west-1", at=later(61))],
        failed=frozenset({east.key}),
    )
    # WHEN both are projected
    deliver(projector(), s1 + s2)
    # THEN us-east-1 keeps everything active, eu-west-1 lost two, the account sync is partial
    items = table_items(stack, acct)
    statuses = {(i["region"], i["resourceId"][-1]): i["discoveryStatus"] for i in items.values()}
    assert statuses == {
        ("us-east-1", "0"): "active",
        ("us-east-1", "1"): "active",
        ("us-east-1", "2"): "active",
        ("eu-west-1", "0"): "active",
        ("eu-west-1", "1"): "missing",
        ("eu-west-1", "2"): "missing",
    }
    assert_table_is_truth(stack, [acct], s1 + s2)
    assert account_item(stack, acct)["lastSyncStatus"] == "partial"
    progress = stack.table.get_item(Key=scan_account_key("s2", acct))["Item"]
    assert (progress["scopesDone"], progress["scopesFailed"], progress["status"]) == (1, 1, "partial")
    assert west.key in progress["scopeKeys"]


def test_assume_role_failure_of_one_account_marks_nothing_of_it(stack: Stack) -> None:
    # GIVEN two accounts; in scan 2 the role of account b cannot be assumed (no scopes, account failed)
    a, b = unique_accounts(2)
    register(stack, a, b)
    s1 = scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for acct in (a, b) for n in range(3)])
    s2 = scan_events("s2", later(60), [resource(n, account_id=a, at=later(61)) for n in range(2)])
    s2_b_failed = account_completed(b, execution_id="s2", status="failed", started=later(60))
    # WHEN
    deliver(projector(), s1 + s2 + [s2_b_failed])
    # THEN a lost one resource, b lost nothing and shows the failure but keeps its last count
    assert_table_is_truth(stack, [a, b], s1 + s2 + [s2_b_failed])
    assert {i["discoveryStatus"] for i in table_items(stack, b).values()} == {"active"}
    status_b = account_item(stack, b)
    assert (status_b["lastSyncStatus"], status_b["lastSyncResourceCount"], status_b["lastSyncExecutionId"]) == (
        "failed",
        3,
        "s2",
    )
    assert account_item(stack, a)["lastSyncStatus"] == "success"


def test_a_resource_deleted_between_scans_goes_missing_then_comes_back_active(stack: Stack) -> None:
    (acct,) = unique_accounts(1)
    service = projector()
    gone = resource(2, account_id=acct)
    s1 = scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in (1, 2)])
    s2 = scan_events("s2", later(60), [resource(1, account_id=acct, at=later(61))])
    deliver(service, s1 + s2)
    missing = table_items(stack, acct)[gone.resource_arn]
    assert (missing["discoveryStatus"], missing["missingSince"]) == ("missing", "2026-11-25T03:00:00.000000Z")
    assert int(missing["ttl"]) == int((later(60)).timestamp()) + 30 * 24 * 3600
    assert_table_is_truth(stack, [acct], s1 + s2)
    s3 = scan_events("s3", later(120), [resource(n, account_id=acct, at=later(121)) for n in (1, 2)])
    deliver(service, s3)
    back = table_items(stack, acct)[gone.resource_arn]
    assert back["discoveryStatus"] == "active"
    assert "missingSince" not in back
    assert "ttl" not in back
    assert back["firstDiscoveredAt"] == "2026-11-25T02:01:00.000000Z"
    assert_table_is_truth(stack, [acct], s1 + s2 + s3)


def test_a_poison_message_goes_to_the_dlq_while_its_batch_neighbours_land(stack: Stack) -> None:
    # GIVEN a whole scan and one malformed message on the projector queue
    (acct,) = unique_accounts(1)
    s1 = scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in range(6)])
    sqs = stack.clients.client("sqs")
    queue_url = stack.env["DDB_PROJECTOR_QUEUE_URL"]
    publisher = SnsEventPublisher(stack.clients.client("sns"), stack.env["EVENTS_TOPIC_ARN"])
    publisher.publish(s1[:2])
    poison = json.dumps({"event_type": "ResourcesDiscovered", "event_id": "not-a-uuid"})
    sqs.send_message(QueueUrl=queue_url, MessageBody=poison)
    publisher.publish(s1[2:])
    service = projector()
    poller = SqsLambdaPoller(sqs, queue_url, lambda e, c: handle_batch(e, c, service), retry_delay_s=0, wait_s=0)
    # WHEN the poller retries until the queue is empty
    for _ in range(30):
        poller.poll_once(wait_s=0)
        if poller.backlog() == 0:
            break
    # THEN the scan landed in full and the poison message sits in the DLQ after maxReceiveCount receives
    assert_table_is_truth(stack, [acct], s1)
    dlq_url = sqs.get_queue_url(QueueName=stack.topology.consumer("ddb-projector").dlq_name)["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in dead] == [poison]
    assert (
        int(dead[0]["Attributes"]["ApproximateReceiveCount"])
        >= stack.topology.consumer("ddb-projector").max_receive_count
    )
    assert poller.processed == len(s1)


def emf_lines(out: str, metric: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [
        line
        for line in lines
        if any(m["Name"] == metric for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"])
    ]


@pytest.mark.parametrize(("second_count", "fires"), [(125, True), (110, False)])
def test_count_delta_metric_fires_at_25_percent_and_not_at_10(
    stack: Stack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, second_count: int, fires: bool
) -> None:
    # GIVEN an account whose previous successful scan counted 100 resources
    (acct,) = unique_accounts(1)
    register(stack, acct)
    s1 = scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in range(100)], page_size=50)
    s2 = scan_events(
        "s2", later(60), [resource(n, account_id=acct, at=later(61)) for n in range(second_count)], page_size=50
    )
    service = projector()
    deliver(service, s1)
    capsys.readouterr()
    # WHEN the next scan counts 125 (or 110), delivered twice
    deliver(service, s2 + s2)
    # THEN one ResourceCountDelta in EMF on stdout and one warning at 25 %, none at 10 %
    metrics = emf_lines(capsys.readouterr().out, "ResourceCountDelta")
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and getattr(r, "account_id", None) == acct]
    assert [(getattr(r, "previous_count", None), getattr(r, "change_pct", None)) for r in warnings] == (
        [(100, 25.0)] if fires else []
    )
    if fires:
        assert len(metrics) == 1
        assert metrics[0]["ResourceCountDelta"] == [25.0]
        assert metrics[0]["accountId"] == acct
        assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "AwsAutoDiscovery"
    else:
        assert metrics == []
    assert account_item(stack, acct)["lastSyncResourceCount"] == second_count
