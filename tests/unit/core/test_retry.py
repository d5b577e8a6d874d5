from __future__ import annotations

import logging
import random
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from inventory_core.publisher import PUBLISH_RETRY, PublishError, SnsEventPublisher
from inventory_core.retry import RetryPolicy, is_retryable_aws_error, is_throttling

from tests.builders import page, resource


def _client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


class _Flaky:
    """Raises the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _policy(sleeps: list[float], **changes: object) -> RetryPolicy:
    return RetryPolicy(attempts=4, base_s=0.5, max_s=3.0, sleep=sleeps.append).with_(**changes)


def test_throttling_is_retried_until_the_call_succeeds() -> None:
    sleeps: list[float] = []
    flaky = _Flaky(_client_error("ThrottlingException"), _client_error("RequestLimitExceeded"))
    assert _policy(sleeps).call(flaky, operation="DescribeInstances") == "ok"
    assert flaky.calls == 3
    assert len(sleeps) == 2


def test_5xx_and_connection_errors_are_retried_validation_and_access_errors_are_not() -> None:
    assert is_retryable_aws_error(_client_error("InternalError", 500))
    assert is_retryable_aws_error(_client_error("Whatever", 503))
    assert is_retryable_aws_error(EndpointConnectionError(endpoint_url="http://x"))
    assert not is_retryable_aws_error(_client_error("ValidationException"))
    assert not is_retryable_aws_error(_client_error("AccessDenied", 403))
    assert not is_retryable_aws_error(ValueError("bad input"))
    assert is_throttling(_client_error("SlowDown", 503))
    assert not is_throttling(_client_error("InternalError", 500))


def test_a_validation_error_is_raised_at_once() -> None:
    sleeps: list[float] = []
    flaky = _Flaky(_client_error("ValidationException"))
    with pytest.raises(ClientError, match="ValidationException"):
        _policy(sleeps).call(flaky, operation="PutItem")
    assert flaky.calls == 1
    assert sleeps == []


def test_gives_up_after_n_attempts_and_reraises_the_last_error() -> None:
    sleeps: list[float] = []
    flaky = _Flaky(*[_client_error("ThrottlingException")] * 10)
    with pytest.raises(ClientError, match="ThrottlingException"):
        _policy(sleeps).call(flaky, operation="Query")
    assert flaky.calls == 4
    assert len(sleeps) == 3


def test_delays_are_full_jitter_within_the_exponential_cap() -> None:
    random.seed(7)
    policy = RetryPolicy(attempts=10, base_s=0.5, max_s=3.0)
    for retry, cap in enumerate([0.5, 1.0, 2.0, 3.0, 3.0]):
        delays = [policy.delay(retry) for _ in range(400)]
        assert all(0 <= d <= cap for d in delays)
        # jitter: spread over the range, not one fixed value
        assert min(delays) < 0.2 * cap
        assert max(delays) > 0.8 * cap


def test_each_retry_logs_structured_fields(caplog: pytest.LogCaptureFixture) -> None:
    sleeps: list[float] = []
    logger = logging.getLogger("tests.retry")
    policy = _policy(sleeps, logger=logger)
    with caplog.at_level(logging.WARNING, logger="tests.retry"):
        policy.call(_Flaky(_client_error("ThrottlingException")), operation="Scan", account_id="111122223333")
    [record] = [r for r in caplog.records if r.name == "tests.retry"]
    assert record.getMessage() == "retrying"
    assert record.__dict__["operation"] == "Scan"
    assert record.__dict__["attempt"] == 1
    assert record.__dict__["max_attempts"] == 4
    assert record.__dict__["error_code"] == "ThrottlingException"
    assert record.__dict__["account_id"] == "111122223333"
    assert record.__dict__["delay_s"] == round(sleeps[0], 3)


def test_rounds_wait_only_between_attempts_and_stop_when_the_caller_breaks() -> None:
    sleeps: list[float] = []
    policy = _policy(sleeps)
    seen = []
    for attempt in policy.rounds("BatchWriteItem"):
        seen.append(attempt)
        if attempt == 1:
            break
    assert seen == [0, 1]
    assert len(sleeps) == 1
    sleeps.clear()
    assert list(policy.rounds("BatchWriteItem")) == [0, 1, 2, 3]
    assert len(sleeps) == 3


def test_a_custom_predicate_decides_what_is_retried() -> None:
    sleeps: list[float] = []
    policy = _policy(sleeps, retry_on=is_throttling)
    flaky = _Flaky(_client_error("InternalError", 500))
    with pytest.raises(ClientError):
        policy.call(flaky, operation="GetResources")
    assert flaky.calls == 1


def test_a_policy_refuses_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


class _FlakySns:
    """PublishBatch that throttles once, then fails the first entry of the next answer once."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([e["Id"] for e in PublishBatchRequestEntries])
        if len(self.calls) == 1:
            raise _client_error("Throttled", 400)
        if len(self.calls) == 2:
            return {"Failed": [{"Id": PublishBatchRequestEntries[0]["Id"]}]}
        return {"Failed": []}


def test_the_publisher_retries_throttling_and_failed_entries_only_with_jittered_waits() -> None:
    sleeps: list[float] = []
    sns = _FlakySns()
    policy = RetryPolicy(attempts=5, base_s=0.1, max_s=2.0, sleep=sleeps.append)
    SnsEventPublisher(sns, "arn:aws:sns:us-east-1:123456789012:t", retry=policy).publish([page([resource(1)])] * 3)
    assert sns.calls == [["0", "1", "2"], ["0", "1", "2"], ["0"]]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2


def test_the_publisher_does_not_retry_a_refused_request() -> None:
    class Refusing:
        calls = 0

        def publish_batch(self, **_: Any) -> dict[str, Any]:
            self.calls += 1
            raise _client_error("InvalidParameter", 400)

    sns = Refusing()
    with pytest.raises(PublishError, match="InvalidParameter"):
        SnsEventPublisher(sns, "arn:t", retry=RetryPolicy(sleep=lambda _: None)).publish([page([resource(1)])])
    assert sns.calls == 1


class _Clock:
    """A monotonic clock that the recorded sleeps advance."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _OutageSns:
    """Refuses connections until the clock passes ``until`` (an endpoint restarting), then publishes."""

    def __init__(self, clock: _Clock, until: float) -> None:
        self.clock = clock
        self.until = until
        self.calls = 0

    def publish_batch(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        self.clock.now += 0.01
        if self.clock.now < self.until:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1")
        return {"Failed": []}


@pytest.mark.parametrize("seed", range(20))
def test_the_publisher_outlasts_a_10_s_outage_whatever_the_jitter_draws(seed: int) -> None:
    # make chaos: five attempts up to 2 s apart ended inside a 10 s outage and the scan died with PublishError
    random.seed(seed)
    clock = _Clock()
    sns = _OutageSns(clock, until=10.0)
    policy = PUBLISH_RETRY.with_(sleep=clock.sleep, clock=clock)
    SnsEventPublisher(sns, "arn:t", retry=policy).publish([page([resource(1)])])
    assert clock.now >= 10.0 and sns.calls > 1


def test_the_publisher_gives_up_once_its_budget_is_spent() -> None:
    clock = _Clock()
    sns = _OutageSns(clock, until=float("inf"))
    policy = PUBLISH_RETRY.with_(sleep=clock.sleep, clock=clock)
    with pytest.raises(PublishError, match="Could not connect"):
        SnsEventPublisher(sns, "arn:t", retry=policy).publish([page([resource(1)])])
    # no retry starts after the budget: the last one began before 60 s and waited at most 5 s
    assert 60.0 <= clock.now < 60.0 + PUBLISH_RETRY.max_s + 1
    assert sns.calls < PUBLISH_RETRY.attempts


def test_a_budget_ends_the_retries_of_a_call_too() -> None:
    clock = _Clock()
    calls = 0

    def refused() -> str:
        nonlocal calls
        calls += 1
        raise EndpointConnectionError(endpoint_url="http://x")

    policy = RetryPolicy(attempts=1000, base_s=1.0, max_s=1.0, budget_s=5.0, sleep=clock.sleep, clock=clock)
    random.seed(1)
    with pytest.raises(EndpointConnectionError):
        policy.call(refused, operation="Op")
    assert 5.0 <= clock.now < 6.0
    assert calls < 1000
