"""Driving Lambda-style SQS handlers from a local long-polling loop.

In AWS an event source mapping calls a consumer's ``lambda_handler`` with a batch of SQS records and
deletes what the handler did not report in ``batchItemFailures``. :class:`SqsLambdaPoller` does the same
on a laptop or in tests, so a handler never knows who called it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from inventory_events import AnyEvent

LambdaHandler = Callable[[dict[str, Any], Any], Mapping[str, Any]]

logger = logging.getLogger(__name__)
_REMEMBERED_RECEIVES = 10_000
_MAX_BATCH_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit caps an SQS batch


def sqs_record(
    body: str,
    *,
    message_id: str,
    receipt_handle: str,
    queue_arn: str,
    region: str,
    attributes: Mapping[str, str] | None = None,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build one record of a Lambda SQS event, with every field Powertools' ``SQSRecord`` reads."""
    now_ms = str(int(time.time() * 1000))
    attrs = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": now_ms,
        "SenderId": "AIDAEXAMPLE",
        "ApproximateFirstReceiveTimestamp": now_ms,
    }
    attrs.update(attributes or {})
    lambda_attrs = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message_attributes or {}).items()
    }
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": attrs,
        "messageAttributes": lambda_attrs,
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event_from_events(events: Sequence[AnyEvent], *, queue_arn: str, region: str) -> dict[str, Any]:
    """Build a Lambda SQS event whose records carry the given events, as raw SNS delivery would."""
    records = [
        sqs_record(
            event.model_dump_json(),
            message_id=f"msg-{i}-{event.event_id}",
            receipt_handle=f"rh-{i}-{event.event_id}",
            queue_arn=queue_arn,
            region=region,
            message_attributes={"event_type": {"DataType": "String", "StringValue": event.event_type}},
        )
        for i, event in enumerate(events)
    ]
    return {"Records": records}


def _receive_count(message: Mapping[str, Any]) -> int:
    return int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))


class SqsLambdaPoller:
    """Long-polls one queue and hands each batch to a Lambda-style handler.

    Messages the handler reports as failed stay on the queue; their visibility is shortened to a
    backoff so they are retried soon, and SQS moves them to the DLQ after ``maxReceiveCount``.
    """

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        handler: LambdaHandler,
        *,
        name: str = "",
        batch_size: int = 10,
        batching_window_s: float = 0.0,
        wait_s: int = 2,
        retry_delay_s: float = 1.0,
        max_retry_delay_s: float = 30.0,
    ) -> None:
        """Create a poller; nothing is received until :meth:`poll_once` or :meth:`run`."""
        self.name = name or queue_url.rsplit("/", 1)[-1]
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._batching_window_s = batching_window_s
        self._wait_s = wait_s
        self._retry_delay_s = retry_delay_s
        self._max_retry_delay_s = max_retry_delay_s
        attributes = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self._queue_arn: str = attributes["QueueArn"]
        self._region = self._queue_arn.split(":")[3]
        self.processed = 0
        self.failed = 0
        # The highest receive count seen per message id (bounded): a late copy of an earlier delivery must not
        # shorten the backoff of a newer one (moto lets an old receipt handle change the visibility).
        self._receives: OrderedDict[str, int] = OrderedDict()

    def poll_once(self, wait_s: int | None = None, batching_window_s: float = 0.0) -> int:
        """Receive one batch, run the handler, settle the messages; return how many were received.

        With a batching window the batch closes when it is full, holds 6 MB, or the window that its first
        message opened has passed (Lambda's MaximumBatchingWindowInSeconds); without one, when SQS hands out
        fewer than 10 messages at once.
        """
        messages = self._receive(self._wait_s if wait_s is None else wait_s, batching_window_s)
        if not messages:
            return 0
        self._remember(messages)
        event = {
            "Records": [
                sqs_record(
                    m["Body"],
                    message_id=m["MessageId"],
                    receipt_handle=m["ReceiptHandle"],
                    queue_arn=self._queue_arn,
                    region=self._region,
                    attributes=m.get("Attributes"),
                    message_attributes=m.get("MessageAttributes"),
                )
                for m in messages
            ]
        }
        try:
            result = self._handler(event, None)
            failed_ids = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            # A handler that raises fails the whole batch, as Lambda would.
            logger.exception("consumer handler raised", extra={"queue": self.name})
            failed_ids = {m["MessageId"] for m in messages}
        self._settle(messages, failed_ids)
        return len(messages)

    def _receive(self, wait_s: int, window_s: float = 0.0) -> list[dict[str, Any]]:
        """Gather up to ``batch_size`` messages, as Lambda's batching does (SQS hands out 10 per call)."""
        messages: list[dict[str, Any]] = []
        size = 0
        window_ends: float | None = None
        while len(messages) < self._batch_size and size < _MAX_BATCH_BYTES:
            if window_ends is None:
                wait = wait_s if not messages else 0
            else:
                left = window_ends - time.monotonic()
                if left <= 0:
                    break
                wait = min(20, math.ceil(left))
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=min(10, self._batch_size - len(messages)),
                WaitTimeSeconds=wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            )
            got = response.get("Messages", [])
            messages += got
            size += sum(len(m["Body"]) for m in got)
            if window_s and messages and window_ends is None:
                window_ends = time.monotonic() + window_s
            if not window_s and len(got) < 10:
                break
        return messages

    def _settle(self, messages: Iterable[Mapping[str, Any]], failed_ids: set[str]) -> None:
        """Delete what succeeded and shorten the visibility of what failed, ten entries per call.

        SQS may hand out one message twice, even within one batch (at-least-once delivery): entries are
        unique per receipt handle, their ids are positions in the call, and an entry SQS refuses (a handle
        of a message already deleted or received again) is logged, not raised, so the rest of the batch
        is still settled. A failed copy of a message that succeeded elsewhere is redelivered at worst.
        """
        unique = list({m["ReceiptHandle"]: m for m in messages}.values())
        done = [m for m in unique if m["MessageId"] not in failed_ids]
        failed = [m for m in unique if m["MessageId"] in failed_ids and not self._stale(m)]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            response = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            self._log_refused("delete", chunk, response)
        for start in range(0, len(failed), 10):
            chunk = failed[start : start + 10]
            response = self._sqs.change_message_visibility_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self._backoff_s(m)}
                    for i, m in enumerate(chunk)
                ],
            )
            self._log_refused("change visibility", chunk, response)
        self.processed += len({m["MessageId"] for m in done})
        self.failed += len({m["MessageId"] for m in unique if m["MessageId"] in failed_ids})

    def _remember(self, messages: Iterable[Mapping[str, Any]]) -> None:
        for message in messages:
            message_id = str(message["MessageId"])
            newest = max(_receive_count(message), self._receives.pop(message_id, 0))
            self._receives[message_id] = newest
        while len(self._receives) > _REMEMBERED_RECEIVES:
            self._receives.popitem(last=False)

    def _stale(self, message: Mapping[str, Any]) -> bool:
        """Whether a newer delivery of this message was received already (then its backoff is left alone)."""
        return _receive_count(message) < self._receives.get(str(message["MessageId"]), 0)

    def _backoff_s(self, message: Mapping[str, Any]) -> int:
        return int(min(self._max_retry_delay_s, self._retry_delay_s * 2 ** (_receive_count(message) - 1)))

    def _log_refused(self, action: str, chunk: Sequence[Mapping[str, Any]], response: Mapping[str, Any]) -> None:
        for entry in response.get("Failed", []):
            message = chunk[int(entry["Id"])]
            logger.warning(
                "sqs refused a batch entry",
                extra={
                    "queue": self.name,
                    "action": action,
                    "message_id": message["MessageId"],
                    "code": entry.get("Code"),
                    "reason": entry.get("Message"),
                },
            )

    def backlog(self) -> int:
        """Messages visible or in flight on the queue (approximate, as SQS reports it)."""
        attrs = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set, with the batching window; errors are logged and polling goes on."""
        while not stop.is_set():
            try:
                self.poll_once(batching_window_s=self._batching_window_s)
            except Exception:
                logger.exception("poll failed", extra={"queue": self.name})
                stop.wait(1.0)


def drain(pollers: Sequence[SqsLambdaPoller], *, timeout_s: float = 600.0, idle_rounds: int = 2) -> None:
    """Poll every queue until all are empty (nothing visible or in flight) ``idle_rounds`` times in a row.

    Each queue is drained by a thread of its own, as each consumer is its own function in AWS: a slow consumer
    (the lake writer's commits) does not space out the retries of another (a projector's scope completion
    waiting for its pages would otherwise spend its receives one per round of every consumer's batch).

    Raises:
        TimeoutError: The queues did not drain within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    errors: list[BaseException] = []

    def drain_one(poller: SqsLambdaPoller) -> None:
        try:
            _drain_one(poller, deadline, idle_rounds)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=drain_one, args=(p,), name=f"drain-{p.name}", daemon=True) for p in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _drain_one(poller: SqsLambdaPoller, deadline: float, idle_rounds: int) -> None:
    quiet = 0
    while quiet < idle_rounds:
        if time.monotonic() > deadline:
            raise TimeoutError(f"queue {poller.name} did not drain in time: {poller.backlog()} messages left")
        received = poller.poll_once(wait_s=0)
        if received == 0 and poller.backlog() == 0:
            quiet += 1
        elif received == 0:
            quiet = 0
            time.sleep(0.2)  # only in-flight (retrying) messages remain: wait for them to come back
        else:
            quiet = 0
