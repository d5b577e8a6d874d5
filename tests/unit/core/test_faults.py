"""The fault hooks answer before anything is sent, so these run offline; off unless INVENTORY_FAULTS is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, HTTPClientError
from inventory_core import faults


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(faults.ENV_VAR, raising=False)
    faults.reset()
    yield
    faults.reset()


def client(service: str, monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any] | None) -> Any:
    if plan is not None:
        monkeypatch.setenv(faults.ENV_VAR, json.dumps(plan))
    made = boto3.client(  # type: ignore[call-overload]
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=0.2),
    )
    faults.install(made)
    return made


def passes_through(call: Any) -> bool:
    """True when the request reached the transport (sockets are disabled here, so it fails there)."""
    try:
        call()
    except HTTPClientError as exc:
        return type(exc) is HTTPClientError
    return False


def test_without_the_variable_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    ec2 = client("ec2", monkeypatch, None)
    assert faults.active_plan() is None
    assert passes_through(ec2.describe_instances)


def test_a_full_throttle_share_answers_with_the_services_throttling_code(monkeypatch: pytest.MonkeyPatch) -> None:
    ec2 = client("ec2", monkeypatch, {"throttle": {"share": 1.0, "operations": ["DescribeInstances"]}})
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances()
    assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
    ddb = client("dynamodb", monkeypatch, {"throttle": {"share": 1.0, "operations": ["DescribeInstances"]}})
    assert passes_through(ddb.list_tables)  # another operation is not throttled
    assert faults.active_plan().injected == {"throttle": 1}  # type: ignore[union-attr]
    monkeypatch.delenv(faults.ENV_VAR)
    assert passes_through(ec2.describe_instances)  # switched off: a client built under the plan is plain again


def test_assume_role_is_denied_only_for_the_listed_account(monkeypatch: pytest.MonkeyPatch) -> None:
    sts = client("sts", monkeypatch, {"deny_assume_role": ["222222222222"]})
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/NucleusAccess-Inventory", RoleSessionName="chaos")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    other = "arn:aws:iam::333333333333:role/NucleusAccess-Inventory"
    assert passes_through(lambda: sts.assume_role(RoleArn=other, RoleSessionName="chaos"))


def test_unavailable_and_outage_windows_close(monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = client("s3", monkeypatch, {"unavailable": {"services": ["s3"], "buckets": ["inv"], "seconds": 0.0}})
    assert passes_through(lambda: s3.head_bucket(Bucket="inv"))  # a zero-second window is already over
    faults.reset()
    s3 = client("s3", monkeypatch, {"unavailable": {"services": ["s3"], "buckets": ["inv"], "seconds": 60}})
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="inv")
    assert caught.value.response["Error"]["Code"] in {"503", "ServiceUnavailable"}
    assert passes_through(lambda: s3.head_bucket(Bucket="other"))  # another bucket is served
    faults.reset()
    sqs = client("sqs", monkeypatch, {"outage": {"after_calls": 1, "seconds": 60}})
    assert passes_through(sqs.list_queues)
    assert faults.active_plan().injected == {}  # type: ignore[union-attr]  # the first call passed through
    with pytest.raises(EndpointConnectionError):
        sqs.list_queues()
    assert faults.active_plan().injected == {"outage": 1}  # type: ignore[union-attr]


def test_a_bad_plan_is_refused_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(faults.FaultConfigError, match="unknown fault"):
        faults.parse('{"throtle": {}}')
    with pytest.raises(faults.FaultConfigError, match=r"throttle.share"):
        faults.parse('{"throttle": {"share": 2}}')
    with pytest.raises(faults.FaultConfigError, match="not JSON"):
        faults.parse("{")


def test_sqs_copies_come_back_in_a_later_gather_never_in_the_same_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(faults.ENV_VAR, '{"sqs": {"redeliver": true}}')
    plan = faults.active_plan()
    assert plan is not None
    handler = faults._after_receive(plan)
    context = {"chaos_queue_url": "q"}
    first = {"Messages": [{"MessageId": str(i)} for i in range(10)]}
    handler(parsed=first, context=context)  # 10: the poller receives again in the same gather
    second = {"Messages": [{"MessageId": "10"}]}
    handler(parsed=second, context=context)  # fewer than 10: the gather ends
    assert [m["MessageId"] for m in second["Messages"]] == ["10"]
    third: dict[str, Any] = {"Messages": []}
    handler(parsed=third, context=context)
    assert third["Messages"] == []  # copies wait one gather more than held originals
    fourth: dict[str, Any] = {"Messages": []}
    handler(parsed=fourth, context=context)
    assert sorted(int(m["MessageId"]) for m in fourth["Messages"]) == list(range(11))
    assert plan.injected == {"redeliver": 11}
