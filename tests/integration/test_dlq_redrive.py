"""Dead letters end to end: poison in every DLQ, fix the cause, redrive, and the three stores converge."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_cli import runtime
from inventory_cli.dlq import DeadLetters, decode
from inventory_cli.fleet import client_in_account
from inventory_cli.main import app
from inventory_cli.summary import summarize
from inventory_core.items import Account
from inventory_events import ScanRequested, parse_event
from typer.testing import CliRunner

from tests.builders import http_headers
from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator

CONSUMER_QUEUES = ("ddb-projector", "lake-writer", "archiver")


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def dlq_counts(stack: Stack, names: tuple[str, ...] | None = None) -> dict[str, int]:
    letters = DeadLetters(stack.clients.client("sqs"))
    return {q.name: sum(letters.count(q)) for q in letters.queues(names)}


def queue_depth(stack: Stack, name: str) -> int:
    url = stack.env[f"{name.upper().replace('-', '_')}_QUEUE_URL"]
    attrs = stack.clients.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def hold_pages(stack: Stack, url: str) -> list[str]:
    """Receive every ResourcesDiscovered of the queue and keep it invisible; let the rest go. Receipt handles."""
    sqs = stack.clients.client("sqs")
    held: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900).get("Messages", [])
        if not got:
            return held
        for m in got:
            if json.loads(m["Body"])["event_type"] == "ResourcesDiscovered":
                held.append(m["ReceiptHandle"])
            else:  # visible again after the others were taken
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=3)


def release(stack: Stack, url: str, receipts: list[str]) -> None:
    for receipt in receipts:
        stack.clients.client("sqs").change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)


def test_poison_in_every_dlq_is_redriven_after_the_fix_and_the_stores_converge(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a real scan of one account (VPCs in one region) whose events wait in the consumer queues
    (account,) = unique_accounts(1)
    stack.table.put_item(Item=Account(account, "Poisoned", True).to_item())
    ec2 = client_in_account("ec2", account, "us-east-1")
    for n in range(3):
        ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16")
    monkeypatch.setenv("SCAN_TYPES", "vpc")
    monkeypatch.setenv("INVENTORY_REGIONS", "us-east-1")
    monkeypatch.setenv("SHARD_PROCESSES", "0")
    scan = runtime.scan_service().scan(ScanRequested(execution_id="exec-poison", trigger="cli", requested_by="t"))
    found = scan.accounts[0].resource_count
    assert found >= 3

    # AND the causes: the projector and the archiver point at stores that do not exist (a broken deployment),
    # and the lake writer's pages are held back, so its ScopeCompleted cannot sweep and keeps failing
    sqs = stack.clients.client("sqs")
    queued = {q: queue_depth(stack, q) for q in CONSUMER_QUEUES}
    held = hold_pages(stack, stack.env["LAKE_WRITER_QUEUE_URL"])
    assert held and len(held) < queued["lake-writer"]
    good = {k: stack.env[k] for k in ("APP_TABLE_NAME", "INVENTORY_BUCKET")}
    monkeypatch.setenv("APP_TABLE_NAME", "no-such-table")
    monkeypatch.setenv("INVENTORY_BUCKET", "no-such-bucket")
    broken = runtime.Consumers.build(stack.clients, retry_delay_s=0, wait_s=0)
    for key, value in good.items():
        monkeypatch.setenv(key, value)
    expected = {**queued, "lake-writer": queued["lake-writer"] - len(held)}
    deadline = time.monotonic() + 240
    while dlq_counts(stack, CONSUMER_QUEUES) != expected:
        assert time.monotonic() < deadline, dlq_counts(stack, CONSUMER_QUEUES)
        for poller in broken.pollers:
            poller.poll_once(wait_s=0)
    # AND a scan request that the (then broken) scanner could not take is in the scan-requests DLQ
    letters = DeadLetters(sqs)
    requests_dlq = letters.queues(["scan-requests"])[0]
    lost_request = ScanRequested(execution_id="exec-lost", account_ids=[account], trigger="schedule")
    sqs.send_message(QueueUrl=requests_dlq.dlq_url, MessageBody=lost_request.model_dump_json())

    # THEN every message of the scan is a dead letter and no store has anything
    counts = dlq_counts(stack)
    assert counts["scan-requests"] == 1 and all(counts[q] > 0 for q in CONSUMER_QUEUES), counts
    before = summarize(stack.clients)
    assert (sum(before.dynamodb.values()), sum(before.iceberg.values()), sum(before.s3_raw.values())) == (0, 0, 0)

    # AND `dlq list` and `dlq show` tell the operator what and why
    listed = cli("dlq", "list")
    for name in (*CONSUMER_QUEUES, "scan-requests"):
        assert any(line.split()[:2] == [name, str(counts[name])] for line in listed.splitlines()), listed
    shown = json.loads(cli("dlq", "show", "--queue", "ddb-projector", "--json", "--limit", "50"))
    assert len(shown) == counts["ddb-projector"]
    pages = [s for s in shown if s["event_type"] == "ResourcesDiscovered"]
    assert pages and all(
        (s["execution_id"], s["account_id"], s["region"], s["resource_type"])
        == ("exec-poison", account, "us-east-1", "vpc")
        for s in pages
    )
    assert min(s["receive_count"] for s in shown) >= 5
    assert {s["event_type"] for s in shown} >= {"ResourcesDiscovered", "ScopeCompleted", "AccountScanCompleted"}

    # WHEN the cause is fixed (the held pages arrive), the operator rehearses, then redrives every queue
    # (message by message: moto has no StartMessageMoveTask)
    release(stack, stack.env["LAKE_WRITER_QUEUE_URL"], held)
    rehearsal = cli("dlq", "redrive", "--dry-run")
    assert f"ddb-projector: {counts['ddb-projector']} dead letters would move back" in rehearsal
    assert dlq_counts(stack) == counts
    redriven = cli("dlq", "redrive")
    for name in counts:
        assert f"{name}: moved {counts[name]} of {counts[name]} (message-by-message), 0 failed" in redriven, redriven
    assert set(dlq_counts(stack).values()) == {0}

    # THEN the scan request is back on its queue, intact
    back = sqs.receive_message(QueueUrl=requests_dlq.source_url, MaxNumberOfMessages=10)["Messages"]
    assert [parse_event(m["Body"]) for m in back] == [lost_request]
    # AND with the cause fixed the consumers take the redriven messages and the three stores agree
    t0 = time.monotonic()
    runtime.Consumers.build(stack.clients, retry_delay_s=0.2, wait_s=0).drain(timeout_s=300)
    after = summarize(stack.clients)
    assert after.dynamodb == after.iceberg == after.s3_raw == {"vpc": found}, after.lines()
    assert time.monotonic() - t0 < 300
    # AND each redrive (dry runs too) is in the audit log
    audit = DynamoDbAuditLog(stack.clients.dynamodb_table(stack.env["AUDIT_TABLE_NAME"]))
    redrives = [r for r in audit.read(datetime.now(UTC).date().isoformat(), 100) if r["action"] == "dlq.redrive"]
    assert sorted((r["parameters"]["queue"], r["parameters"]["dryRun"]) for r in redrives) == sorted(
        (name, dry) for name in counts for dry in (True, False)
    )


def test_undecodable_dead_letters_are_still_shown() -> None:
    assert decode("not json") == {"event_type": "(not JSON)", "detail": "not json"}
    broken = decode('{"event_type": "ResourcesDiscovered", "execution_id": "e1", "page": "x"}')
    assert broken["event_type"] == "ResourcesDiscovered (invalid)" and broken["execution_id"] == "e1"
    assert broken["detail"].startswith("does not parse: ")


def test_dlq_show_names_the_last_error_the_consumer_logged_for_the_message(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a dead letter, and the consumer's log line that names it (as the handler logs a failed record)
    monkeypatch.setenv("INVENTORY_STAGE", stack.topology.prefix.rstrip("-"))
    sqs = stack.clients.client("sqs")
    queue = DeadLetters(sqs).queues(["ddb-projector"])[0]
    body = ScanRequested(execution_id="exec-x").model_dump_json()
    message_id = sqs.send_message(QueueUrl=queue.dlq_url, MessageBody=body)["MessageId"]
    logs = stack.clients.client("logs")
    group = f"/aws/lambda/{stack.topology.prefix}inventory-ddb-projector"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    line = {
        "level": "ERROR",
        "message": "record failed",
        "exception": "Traceback (most recent call last):\n  ...\nStoreError: table no-such-table not found",
        "exception_name": "StoreError",
        "message_id": message_id,
    }
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now, "message": json.dumps(line)}, {"timestamp": now, "message": "unrelated"}],
    )

    # WHEN the operator looks at it THEN the decoded sample carries that error
    (sample,) = json.loads(cli("dlq", "show", "--queue", "ddb-projector", "--json"))
    assert sample["message_id"] == message_id and sample["event_type"] == "ScanRequested"
    assert sample["last_error"] == "record failed: StoreError: table no-such-table not found"
    # AND looking did not consume it
    assert dlq_counts(stack, ("ddb-projector",)) == {"ddb-projector": 1}


def _move_task_accepted(request: Any, **_: Any) -> AWSResponse:
    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b'{"TaskHandle": "task-1"}'

    return AWSResponse(request.url, 200, http_headers({"Content-Type": "application/x-amz-json-1.0"}), Raw())


def test_redrive_uses_start_message_move_task_where_the_endpoint_has_it(stack: Stack) -> None:
    # GIVEN an endpoint that accepts StartMessageMoveTask (real SQS; moto has none, so a hook answers for it)
    sqs = stack.clients.client("sqs")
    mover = stack.clients.for_session(stack.clients.session).client("sqs")
    calls: list[str] = []
    mover.meta.events.register("before-send.sqs.StartMessageMoveTask", lambda request, **_: calls.append(request.body))
    mover.meta.events.register("before-send.sqs.StartMessageMoveTask", _move_task_accepted)
    letters = DeadLetters(sqs, move_sqs=mover)
    queue = letters.queues(["archiver"])[0]
    sqs.send_message(QueueUrl=queue.dlq_url, MessageBody="{}")

    # WHEN redriven THEN SQS is asked to move the DLQ's messages to the source queue, and nothing is copied by hand
    result = letters.redrive(queue)
    assert (result.method, result.task_handle, result.found) == ("move-task", "task-1", 1)
    sent = json.loads(calls[0])
    assert (sent["SourceArn"], sent["DestinationArn"]) == (queue.dlq_arn, queue.source_arn)
    assert dlq_counts(stack, ("archiver",)) == {"archiver": 1}
