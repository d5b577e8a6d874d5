"""The archiver on moto S3: staged pages, one raw document per account per day, SSE-S3, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from archiver.adapters.emf_metrics import EmfArchiverMetrics
from archiver.adapters.s3_store import S3ObjectStore
from archiver.bootstrap import build_service
from archiver.handler import handle_batch
from archiver.service import ArchiverService, raw_key
from archiver.settings import ArchiverSettings
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.awsrequest import AWSResponse
from inventory_events import AccountScanCompleted, ScopeSummary

from tests.builders import T0, http_headers, page, resource, scope, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


def account_done(pages: int) -> AccountScanCompleted:
    return AccountScanCompleted(
        execution_id="exec-1",
        account_id="111111111111",
        status="success",
        resource_count=4,
        duration_ms=10,
        scan_started_at=T0,
        scopes=[ScopeSummary(scope=scope(), status="complete", resource_count=4, page_count=pages)],
    )


def test_account_document_is_assembled_once_all_pages_are_staged(stack: Stack) -> None:
    service = build_service(ArchiverSettings())
    s3 = stack.clients.client("s3")
    bucket = stack.env["INVENTORY_BUCKET"]
    # AccountScanCompleted first: page 2 is not there yet, so it is parked (no record fails, no document yet)
    first = sqs_event(page([resource(1), resource(2)], page_no=1), account_done(2), queue="archiver")
    assert handle_batch(first, None, service) == {"batchItemFailures": []}
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="raw/")
    # the missing page arrives and assembles the account; the completion's redelivery changes nothing
    second = sqs_event(page([resource(3), resource(4)], page_no=2), account_done(2), queue="archiver")
    assert handle_batch(second, None, service) == {"batchItemFailures": []}
    key = raw_key(account_done(2))
    assert key == "raw/year=2026/month=11/day=25/111111111111/inventory.json"
    obj = s3.get_object(Bucket=bucket, Key=key)
    assert obj["ServerSideEncryption"] == "AES256"
    doc = json.loads(obj["Body"].read())
    assert [i["InstanceId"] for i in doc["regions"]["us-east-1"]["ec2"]] == [
        resource(i).resource_id for i in range(1, 5)
    ]
    # a replay writes the same object
    assert handle_batch(second, None, service) == {"batchItemFailures": []}
    assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == doc


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.body


def inject_put_failures(s3: Any, times: int) -> list[int]:
    """Fail the next ``times`` PutObject calls with a non-retryable 403, as an S3 fault would."""
    sent: list[int] = []

    def handler(request: Any, **_: object) -> AWSResponse | None:
        sent.append(1)
        if len(sent) > times:
            return None
        body = b"<Error><Code>AccessDenied</Code><Message>injected</Message></Error>"
        return AWSResponse(request.url, 403, http_headers(), _Raw(body))

    s3.meta.events.register("before-send.s3.PutObject", handler, unique_id="inject-put")
    return sent


def test_upload_fault_is_retried_and_then_succeeds(stack: Stack) -> None:
    s3 = stack.clients.client("s3")
    store = S3ObjectStore(s3, stack.env["INVENTORY_BUCKET"], attempts=3, backoff_s=0)
    sent = inject_put_failures(s3, times=2)
    try:
        response = handle_batch(sqs_event(page([resource(1)]), queue="archiver"), None, ArchiverService(store))
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", unique_id="inject-put")
    assert response == {"batchItemFailures": []}
    assert len(sent) == 3
    assert store.upload_failures == 0


class InMemoryArchiverMetrics:
    def __init__(self) -> None:
        self.failed_keys: list[str] = []

    def upload_failed(self, key: str) -> None:
        self.failed_keys.append(key)


def test_persistent_upload_failure_fails_the_record_after_three_tries(stack: Stack) -> None:
    s3 = stack.clients.client("s3")
    store = S3ObjectStore(s3, stack.env["INVENTORY_BUCKET"], attempts=3, backoff_s=0)
    metrics = InMemoryArchiverMetrics()
    sent = inject_put_failures(s3, times=100)
    event = sqs_event(page([resource(1)], page_no=1), page([resource(2)], page_no=2), queue="archiver")
    try:
        with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the whole batch
            handle_batch(event, None, ArchiverService(store, metrics))
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", unique_id="inject-put")
    assert len(sent) == 6
    assert store.upload_failures == 2
    assert [k.rsplit("/", 1)[-1] for k in metrics.failed_keys] == ["page-00001.json", "page-00002.json"]


def test_upload_failure_metric_is_emitted_as_emf(capsys: pytest.CaptureFixture[str]) -> None:
    EmfArchiverMetrics("AwsAutoDiscoveryTest").upload_failed("raw/x.json")
    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert emf["S3UploadFailures"] == [1.0] or emf["S3UploadFailures"] == 1.0
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "AwsAutoDiscoveryTest"
    assert directive["Metrics"][0] == {"Name": "S3UploadFailures", "Unit": "Count"}
    assert emf["objectKey"] == "raw/x.json"


def test_an_empty_or_older_scan_never_replaces_the_days_document(stack: Stack) -> None:
    # GIVEN the document of a scan that started at 02:00
    service = build_service(ArchiverSettings())
    s3, bucket = stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"]
    handle_batch(sqs_event(page([resource(1)], page_no=1), account_done(1), queue="archiver"), None, service)
    key = raw_key(account_done(1))
    before = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    # WHEN a failed scan of the same day (no scopes) and an older scan's late completion arrive
    failed = account_done(0).model_copy(update={"execution_id": "exec-2", "status": "failed", "scopes": []})
    older = account_done(1).model_copy(update={"execution_id": "exec-0", "scan_started_at": T0.replace(hour=1)})
    staged_older = page([resource(9)], execution_id="exec-0", page_no=1, started=T0.replace(hour=1))
    assert handle_batch(sqs_event(failed, staged_older, older, queue="archiver"), None, service) == {
        "batchItemFailures": []
    }
    # THEN the day's items are still the 02:00 scan's; the document notes the older scan it did not take
    after = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert after["regions"] == before["regions"]
    (kept,) = after["scopes"]
    assert kept["executionId"] == "exec-1" and kept["complete"] is True
    assert [n["executionId"] for n in kept["notReplacedBy"]] == ["exec-0"]
    assert [e["executionId"] for e in after["executions"]] == ["exec-0", "exec-1"]
