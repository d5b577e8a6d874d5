"""SNS -> SQS -> poller -> handler on the emulator: filter policies, partial batch failure, DLQ."""

from __future__ import annotations

import json

import pytest
from ddb_projector.bootstrap import build_service
from ddb_projector.handler import handle_batch
from ddb_projector.settings import ProjectorSettings
from inventory_core.publisher import SnsEventPublisher
from inventory_core.sqs import SqsLambdaPoller
from inventory_events import ScanRequested

from tests.builders import page, resource
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


def count(stack: Stack, url: str) -> int:
    attrs = stack.clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_filter_policies_route_each_event_type(stack: Stack) -> None:
    publisher = SnsEventPublisher(stack.clients.client("sns"), stack.env["EVENTS_TOPIC_ARN"])
    publisher.publish([page([resource(1)]), ScanRequested(execution_id="x")])
    assert count(stack, stack.env["DDB_PROJECTOR_QUEUE_URL"]) == 1
    assert count(stack, stack.env["LAKE_WRITER_QUEUE_URL"]) == 1
    assert count(stack, stack.env["ARCHIVER_QUEUE_URL"]) == 1
    assert count(stack, stack.env["SCAN_REQUESTS_QUEUE_URL"]) == 0
    message = stack.clients.client("sqs").receive_message(
        QueueUrl=stack.env["LAKE_WRITER_QUEUE_URL"], MessageAttributeNames=["All"]
    )["Messages"][0]
    assert json.loads(message["Body"])["event_type"] == "ResourcesDiscovered"  # raw delivery: no SNS envelope
    assert message["MessageAttributes"]["event_type"]["StringValue"] == "ResourcesDiscovered"


def test_poison_message_reaches_the_dlq_while_its_neighbours_land(stack: Stack) -> None:
    # GIVEN two good pages and one malformed message on the projector queue
    sqs = stack.clients.client("sqs")
    publisher = SnsEventPublisher(stack.clients.client("sns"), stack.env["EVENTS_TOPIC_ARN"])
    publisher.publish([page([resource(1)], page_no=1), page([resource(2)], page_no=2)])
    queue_url = stack.env["DDB_PROJECTOR_QUEUE_URL"]
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"event_type": "ResourcesDiscovered", "page": "x"}')
    service = build_service(ProjectorSettings())
    poller = SqsLambdaPoller(sqs, queue_url, lambda e, c: handle_batch(e, c, service), retry_delay_s=0, wait_s=0)
    # WHEN the poller retries until the queue is empty
    for _ in range(20):
        poller.poll_once(wait_s=0)
        if count(stack, queue_url) == 0:
            break
    # THEN the good pages are in the table and the poison message is in the DLQ after 5 receives
    dlq_url = sqs.get_queue_url(QueueName=stack.topology.consumer("ddb-projector").dlq_name)["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in dead] == ['{"event_type": "ResourcesDiscovered", "page": "x"}']
    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 5
    arns = {i["resourceArn"] for i in stack.table.scan()["Items"] if "resourceArn" in i}
    assert arns == {resource(1).resource_arn, resource(2).resource_arn}
    assert poller.processed == 2
    assert poller.failed == 5
