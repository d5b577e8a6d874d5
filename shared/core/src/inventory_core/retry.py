"""One retry policy for the AWS calls we retry ourselves (on top of botocore's own retries).

Every retry waits a full-jitter delay, ``uniform(0, min(max_s, base_s * 2**retry))``, so many workers
throttled at once do not come back in step, and logs one structured line (``operation``, ``attempt``,
``max_attempts``, ``delay_s``, ``error_code``). Two shapes of loop use it:

- a call that raises: :meth:`RetryPolicy.call` (tenacity runs it: stop after ``attempts``, retry only what
  ``retry_on`` accepts, re-raise the last error);
- a batch call that answers with what is left (``UnprocessedItems``, ``Failed`` entries):
  ``for attempt in policy.rounds("BatchWriteItem"): ...; if nothing_left: break``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import tenacity
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

T = TypeVar("T")

_logger = logging.getLogger(__name__)

#: Error codes AWS services answer when a caller goes too fast.
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "Throttled",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "RequestLimitExceededException",
    }
)
#: Codes of a transient server-side failure, whatever their HTTP status.
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "TransactionInProgressException",
    }
)
_CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_throttling(exc: BaseException) -> bool:
    """A ClientError that says "slow down"."""
    return error_code(exc) in THROTTLE_CODES


def is_retryable_aws_error(exc: BaseException) -> bool:
    """Throttling, a 5xx or transient server error, or a connection that failed: worth another try.

    A validation error, a refused permission or a missing resource is not: it would fail the same way again.
    """
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    if not isinstance(exc, ClientError):
        return False
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    code = error_code(exc)
    return code in THROTTLE_CODES or code in TRANSIENT_CODES or status >= 500


class _Spent(tenacity.stop.stop_base):
    """tenacity's stop condition for a budget measured on the policy's own clock (its stop_after_delay is not)."""

    def __init__(self, spent: Callable[[], bool]) -> None:
        self._spent = spent

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:  # noqa: ARG002 (the budget needs no state)
        return self._spent()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one kind of call.

    Args:
        attempts: Calls in all, the first one included (1 means no retry).
        base_s: The first retry waits up to this long; each next one up to twice as long.
        max_s: No wait is longer than this.
        retry_on: Which errors are retried (:meth:`call` re-raises any other at once).
        logger: Where each retry is logged (pass the caller's module logger, so the line reaches its service's
            handler).
        sleep: The clock's sleep (tests pass a recorder).
        on_retry: Called with the error (None for an unfinished batch) before each retry, e.g. to count them.
        budget_s: If set, no retry starts once this many seconds have passed since the first call (the attempts
            still cap it). For a call that must outlast an outage of known length whatever the jitter draws.
        clock: The monotonic clock the budget is measured on (tests pass one that the recorded sleeps advance).
    """

    attempts: int = 5
    base_s: float = 0.1
    max_s: float = 20.0
    retry_on: Callable[[BaseException], bool] = is_retryable_aws_error
    logger: logging.Logger = field(default=_logger, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    on_retry: Callable[[BaseException | None], None] | None = field(default=None, compare=False)
    budget_s: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_s < 0 or self.max_s < 0 or (self.budget_s is not None and self.budget_s < 0):
            raise ValueError(f"attempts must be >= 1 and delays and budget >= 0: {self}")

    def _within_budget(self, started: float) -> bool:
        return self.budget_s is None or self.clock() - started < self.budget_s

    def with_(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed (e.g. ``policy.with_(logger=logger)``)."""
        return replace(self, **changes)

    def delay(self, retry: int) -> float:
        """The full-jitter wait before retry number ``retry`` (0 for the first retry)."""
        return random.uniform(0, min(self.max_s, self.base_s * 2**retry))

    def should_retry(self, exc: BaseException, retry: int) -> bool:
        """Whether retry number ``retry`` of a call that raised ``exc`` may be made (the attempts; not the budget)."""
        return retry + 1 < self.attempts and self.retry_on(exc)

    def pause(self, retry: int, *, operation: str, error: BaseException | None = None, **fields: Any) -> float:
        """Log and wait before retry number ``retry``; returns the delay waited."""
        delay = self.delay(retry)
        self._log(retry + 1, delay, error, operation, fields)
        self.sleep(delay)
        return delay

    def _log(self, failed: int, delay: float, error: BaseException | None, operation: str, fields: Any) -> None:
        if self.on_retry is not None:
            self.on_retry(error)
        self.logger.warning(
            "retrying",
            extra={
                "operation": operation,
                "attempt": failed,
                "max_attempts": self.attempts,
                "delay_s": round(delay, 3),
                "error_code": (error_code(error) or type(error).__name__) if error is not None else "",
                **fields,
            },
        )

    def call(self, fn: Callable[[], T], *, operation: str, **fields: Any) -> T:
        """Call ``fn`` until it returns, raises an error ``retry_on`` refuses, or ``attempts`` are spent.

        The last error is re-raised as it was.
        """

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            self._log(state.attempt_number, delay, error, operation, fields)

        started = self.clock()
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | _Spent(lambda: not self._within_budget(started)),
            wait=lambda state: self.delay(state.attempt_number - 1),
            retry=tenacity.retry_if_exception(self.retry_on),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)

    def rounds(self, operation: str, *, reason: str = "unfinished", **fields: Any) -> Iterator[int]:
        """Attempt numbers 0 .. attempts-1, with a logged jittered wait before each after the first.

        For a call that answers with what is left: break out of the loop once nothing is; after the loop,
        whatever is still left is the caller's to report. With a ``budget_s``, the rounds also end once it is spent.
        """
        started = self.clock()
        for attempt in range(self.attempts):
            if attempt:
                if not self._within_budget(started):
                    return
                self.pause(attempt - 1, operation=operation, reason=reason, **fields)
            yield attempt
