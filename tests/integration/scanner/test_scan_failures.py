"""Failure semantics on the emulator: throttling, a refused AssumeRole, the overlap lock, the claim check."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from archiver.adapters.s3_store import S3ObjectStore
from archiver.service import ArchiverService, raw_key
from botocore.awsrequest import AWSResponse
from inventory_cli.fleet import client_in_account, seed_fleet
from inventory_cli.runtime import register_accounts
from inventory_core.items import Account, account_lock_key, scan_status_key
from inventory_events import ScanRequested
from scanner.adapters.dynamodb_lock import DynamoDbScanLock
from scanner.bootstrap import build_service
from scanner.service import CLAIM_CHECK_KEY, ScanProgress
from scanner.settings import ScannerSettings

from tests.builders import http_headers
from tests.conftest import Stack, unique_accounts
from tests.fakes import InMemoryEventPublisher

pytestmark = pytest.mark.emulator
REGION = "eu-west-1"


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def aws_error(request: Any, code: str, status: int, protocol: str) -> AWSResponse:
    """An error answer as the service's protocol shapes it, so botocore parses and retries it for real."""
    if protocol == "ec2":
        text = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error></Errors>"
            "<RequestID>x</RequestID></Response>"
        )
    elif protocol == "query":
        text = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
            "<RequestId>x</RequestId></ErrorResponse>"
        )
    else:  # rest-xml (S3)
        text = f"<Error><Code>{code}</Code><Message>injected</Message><RequestId>x</RequestId></Error>"
    return AWSResponse(request.url, status, http_headers(), _Body(text.encode()))


def seed(stack: Stack, accounts: list[str], resources: int, types: tuple[str, ...]) -> Any:
    fleet = seed_fleet([(a, a) for a in accounts], [REGION], resources, prefix=stack.topology.prefix, types=types)
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(a, a, True) for a in accounts])
    return fleet


def found_arns(publisher: InMemoryEventPublisher, resource_type: str) -> set[str]:
    return {
        r.resource_arn
        for page in publisher.of_type("ResourcesDiscovered")
        for r in page.resources
        if r.resource_type == resource_type
    }


def test_injected_throttling_slows_the_scan_but_it_ends_complete(stack: Stack) -> None:
    # GIVEN 3 of every 8 EC2 and S3 ListBuckets calls throttled, in bursts longer than botocore's 2 attempts
    accounts = unique_accounts(2)
    fleet = seed(stack, accounts, 40, ("ec2", "s3", "vpc"))
    lock = threading.Lock()
    state = {"calls": 0, "throttled": 0}

    def throttler(code: str, status: int, protocol: str) -> Any:
        def throttle(request: Any, **_: Any) -> AWSResponse | None:
            with lock:
                state["calls"] += 1
                # calls 1-3 of every 8 fail in a row: botocore gives up, our own backoff resumes the listing
                if state["calls"] % 8 not in (1, 2, 3):
                    return None
                state["throttled"] += 1
            return aws_error(request, code, status, protocol)

        return throttle

    settings = ScannerSettings(
        inventory_regions=[REGION], scan_types=["ec2", "s3", "vpc"], api_max_attempts=2, throttle_backoff_s=0.05
    )
    publisher = InMemoryEventPublisher()
    service = build_service(
        settings,
        stack.clients,
        publisher=publisher,
        session_hooks=[
            ("before-send.ec2", throttler("RequestLimitExceeded", 400, "ec2")),
            ("before-send.s3.ListBuckets", throttler("SlowDown", 503, "rest-xml")),
        ],
    )
    progress: list[ScanProgress] = []
    # WHEN
    result = service.scan(ScanRequested(execution_id=str(uuid.uuid4()), account_ids=accounts), progress=progress.append)
    # THEN the scan is complete and says it was throttled
    errors = [s.error for s in publisher.of_type("ScopeCompleted") if s.error]
    assert {a.status for a in result.accounts} == {"success"}, errors
    for slug in ("ec2", "s3", "vpc"):
        assert found_arns(publisher, slug) == fleet.arns[slug], slug
    # botocore's adaptive mode slows each throttled client down (about 2 s per call here), so few calls suffice
    assert state["throttled"] >= 6
    assert progress[-1].throttles >= state["throttled"]
    assert progress[-1].api_calls >= state["calls"]


def test_a_refused_assume_role_fails_that_account_only_and_marks_nothing(stack: Stack) -> None:
    # GIVEN three accounts, the role of the second one refuses us
    accounts = unique_accounts(3)
    fleet = seed(stack, accounts, 30, ("ec2", "s3"))
    denied = accounts[1]

    def refuse(request: Any, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        return aws_error(request, "AccessDenied", 403, "query") if denied in body else None

    stack.clients.client("sts").meta.events.register("before-send.sts.AssumeRole", refuse)
    publisher = InMemoryEventPublisher()
    settings = ScannerSettings(inventory_regions=[REGION], scan_types=["ec2", "s3"])
    # WHEN
    result = build_service(settings, stack.clients, publisher=publisher).scan(
        ScanRequested(execution_id=str(uuid.uuid4()), account_ids=accounts)
    )
    # THEN the others are complete, the denied account failed with the reason and has no scope at all
    statuses = {a.account_id: a.status for a in result.accounts}
    assert statuses == {accounts[0]: "success", denied: "failed", accounts[2]: "success"}
    failed = next(e for e in publisher.of_type("AccountScanCompleted") if e.account_id == denied)
    assert "AccessDenied" in (failed.error or "")
    assert not [s for s in publisher.of_type("ScopeCompleted") if s.scope.account_id == denied]
    others = {a for a in fleet.arns["ec2"] if denied not in a}
    assert found_arns(publisher, "ec2") == others


def test_the_lock_admits_one_scan_per_account_until_released_or_expired(stack: Stack) -> None:
    account = unique_accounts(1)[0]
    clock = {"now": 1_800_000_000.0}
    lock = DynamoDbScanLock(stack.table, now=lambda: clock["now"])
    first = lock.acquire(account, "first", 600)
    assert first.acquired
    second = lock.acquire(account, "second", 600)
    assert (second.acquired, second.holder, second.expires_at) == (False, "first", 1_800_000_600)
    assert lock.acquire(account, "first", 600).acquired  # re-entrant for its own execution
    lock.release(account, "second")  # not the holder: no effect
    assert not lock.acquire(account, "second", 600).acquired
    item = stack.table.get_item(Key=account_lock_key(account))["Item"]
    assert (item["executionId"], item["ttl"]) == ("first", 1_800_000_600)
    clock["now"] += 601
    taken = lock.acquire(account, "second", 600)
    assert (taken.acquired, taken.stale_holder) == (True, "first")
    assert taken.stale_acquired_at is not None
    lock.release(account, "second")
    assert "Item" not in stack.table.get_item(Key=account_lock_key(account))


def test_a_second_scan_of_a_locked_account_reports_that_it_skipped(stack: Stack) -> None:
    accounts = unique_accounts(2)
    seed(stack, accounts, 4, ("s3",))
    DynamoDbScanLock(stack.table).acquire(accounts[0], "still-running", 3600)
    settings = ScannerSettings(inventory_regions=[REGION], scan_types=["s3"])
    result = build_service(settings, stack.clients, publisher=InMemoryEventPublisher()).scan(
        ScanRequested(execution_id="late", account_ids=accounts)
    )
    assert [(s.account_id, s.holder_execution_id) for s in result.skipped] == [(accounts[0], "still-running")]
    assert [a.account_id for a in result.accounts] == [accounts[1]]
    status = stack.table.get_item(Key=scan_status_key("late"))["Item"]
    assert status["status"] == "in_progress" and status["accountIds"] == sorted(accounts)


def test_a_huge_item_takes_the_claim_check_path_and_the_archive_holds_it_whole(stack: Stack) -> None:
    # GIVEN an instance with 40 long tags: its raw item alone is larger than a 20 kB page
    account = unique_accounts(1)[0]
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(account, account, True)])
    ec2 = client_in_account("ec2", account, REGION)
    tags = [{"Key": f"k{i:02d}-{'x' * 16}", "Value": "v" * 250} for i in range(40)]
    instance_id = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]["InstanceId"]
    publisher = InMemoryEventPublisher()
    settings = ScannerSettings(inventory_regions=[REGION], scan_types=["ec2"], page_max_bytes=20_000)
    # WHEN the scanner publishes it and the archiver assembles the account
    build_service(settings, stack.clients, publisher=publisher).scan(
        ScanRequested(execution_id="claims-1", account_ids=[account])
    )
    # THEN the message carries the address of an SSE-S3 object in the inventory bucket
    (resource,) = [r for p in publisher.of_type("ResourcesDiscovered") for r in p.resources]
    address = resource.raw[CLAIM_CHECK_KEY]
    bucket = stack.env["INVENTORY_BUCKET"]
    assert address.startswith(f"s3://{bucket}/claims/claims-1/") and address.endswith(".json")
    assert resource.tags[tags[0]["Key"]] == "v" * 250
    s3 = stack.clients.client("s3")
    head = s3.head_object(Bucket=bucket, Key=address.split("/", 3)[3])
    assert head["ServerSideEncryption"] == "AES256"
    archiver = ArchiverService(S3ObjectStore(s3, bucket))
    for event in publisher.of_type("ResourcesDiscovered") + publisher.of_type("AccountScanCompleted"):
        archiver.handle(event)
    (account_event,) = publisher.of_type("AccountScanCompleted")
    document = json.loads(s3.get_object(Bucket=bucket, Key=raw_key(account_event))["Body"].read())
    (archived,) = document["regions"][REGION]["ec2"]
    assert archived["InstanceId"] == instance_id
    assert len(archived["Tags"]) == 40
