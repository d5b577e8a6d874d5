"""The local SQS poller settles batches that hold one message twice (at-least-once delivery) on the emulator."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from inventory_core.sqs import SqsLambdaPoller

pytestmark = pytest.mark.emulator


def queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"poller-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def visible_and_in_flight(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_a_batch_holding_the_same_message_twice_is_settled(moto_endpoint: str) -> None:
    # GIVEN a batch in which SQS handed out "ok" twice and "bad" twice (same receipt handles), and the handler
    # failing "bad"
    sqs = boto3.client("sqs")
    url = queue(sqs)
    for body in ("ok", "bad"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        seen.extend(r["body"] for r in event["Records"])
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
        }

    poller = SqsLambdaPoller(sqs, url, handler, wait_s=0, retry_delay_s=2)
    real_receive = poller._receive
    poller._receive = lambda *args: [m for m in real_receive(*args) for _ in range(2)]  # type: ignore[method-assign]
    # WHEN it is polled
    received = poller.poll_once()
    # THEN the batch is settled without an error: "ok" deleted once, "bad" back on the queue after its backoff
    assert received == 4 and sorted(seen) == ["bad", "bad", "ok", "ok"]
    assert (poller.processed, poller.failed) == (1, 1)
    assert visible_and_in_flight(sqs, url) == (0, 1)
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=4, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in again] == ["bad"]


def test_a_late_copy_of_a_deleted_message_is_settled(moto_endpoint: str) -> None:
    # GIVEN a message already handled and deleted, whose late copy (the old receipt handle) fails its handler
    sqs = boto3.client("sqs")
    url = queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="once")
    copies: list[dict[str, Any]] = []
    poller = SqsLambdaPoller(sqs, url, lambda e, c: {"batchItemFailures": []}, wait_s=0)
    real_receive = poller._receive

    def receive(*args: Any) -> list[dict[str, Any]]:
        got = real_receive(*args)
        copies.extend(dict(m) for m in got)
        return got

    poller._receive = receive  # type: ignore[method-assign,assignment]
    assert poller.poll_once() == 1
    failing = SqsLambdaPoller(
        sqs,
        url,
        lambda e, c: {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in e["Records"]]},
        wait_s=0,
    )
    failing._receive = lambda *args: copies  # type: ignore[method-assign]
    # WHEN the copy is polled and fails
    assert failing.poll_once() == 1
    # THEN the refused visibility change is logged, not raised, and the queue stays empty
    assert failing.failed == 1
    assert visible_and_in_flight(sqs, url) == (0, 0)


def test_a_batching_window_gathers_messages_that_arrive_while_it_is_open(moto_endpoint: str) -> None:
    # GIVEN a lake-writer-like poller (100 per batch) and messages arriving in two bursts 1 s apart
    sqs = boto3.client("sqs")
    url = queue(sqs)
    batches: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        batches.append(len(event["Records"]))
        return {"batchItemFailures": []}

    poller = SqsLambdaPoller(sqs, url, handler, batch_size=100, wait_s=0)

    def burst(tag: str) -> None:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{tag}{i}"} for i in range(3)])

    burst("a")
    timer = threading.Timer(1.0, burst, args=("b",))
    timer.start()
    # WHEN it polls without a window, then (for the second burst and a third) with a 3 s window
    poller.poll_once()
    timer.join()
    burst("c")
    started = time.monotonic()
    poller.poll_once(batching_window_s=3)
    # THEN the first batch closed at once with the first burst; the windowed one held both later bursts and
    # closed when the window ended
    assert batches == [3, 6]
    assert 2.5 <= time.monotonic() - started < 10
