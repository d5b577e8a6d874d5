"""Publishing events to the SNS topic, with ``event_type`` as a message attribute for filter policies."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from inventory_events import AnyEvent

from inventory_core.retry import RetryPolicy

logger = logging.getLogger(__name__)

#: SNS and SQS both cap a message (and a PublishBatch request) at 256 KiB; keep headroom for attributes.
MAX_MESSAGE_BYTES = 250_000
_BATCH_ENTRIES = 10


class PublishError(RuntimeError):
    """Events could not be published after retries."""


class EventPublisher(Protocol):
    """Port: publishes events. Raises :class:`PublishError` when any event could not be published."""

    def publish(self, events: Sequence[AnyEvent]) -> None:
        """Publish the events (in any order; consumers do not rely on order)."""


def encode(event: AnyEvent) -> str:
    """Return the wire form of an event (JSON, snake_case)."""
    return event.model_dump_json()


def _batches(bodies: Sequence[tuple[AnyEvent, str]]) -> Iterator[list[tuple[AnyEvent, str]]]:
    batch: list[tuple[AnyEvent, str]] = []
    size = 0
    for item in bodies:
        body_size = len(item[1].encode())
        if batch and (len(batch) == _BATCH_ENTRIES or size + body_size > MAX_MESSAGE_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += body_size
    if batch:
        yield batch


PUBLISH_RETRY = RetryPolicy(attempts=60, base_s=0.1, max_s=5.0, budget_s=60.0, logger=logger)
"""A page or completion that cannot be published fails its scope or account, so the publisher outlasts an outage:
retries with full jitter up to 5 s apart for up to 60 s. Five attempts 2 s apart at most (botocore's own retries
inside each) ended within the 10 s endpoint outage of ``make chaos`` and the whole scan died."""


class SnsEventPublisher:
    """Publishes with PublishBatch, packing entries under the 256 KiB request limit."""

    def __init__(self, sns_client: Any, topic_arn: str, *, retry: RetryPolicy | None = None) -> None:
        """Create a publisher on ``topic_arn``; ``sns_client`` comes from the client factory."""
        self._sns = sns_client
        self._topic_arn = topic_arn
        self._retry = retry or PUBLISH_RETRY

    def publish(self, events: Sequence[AnyEvent]) -> None:
        """Publish every event; retries failed entries with backoff, then raises PublishError."""
        bodies = []
        for event in events:
            body = encode(event)
            if len(body.encode()) > MAX_MESSAGE_BYTES:
                raise PublishError(f"{event.event_type} {event.event_id} is {len(body)} bytes, over the SNS limit")
            bodies.append((event, body))
        for batch in _batches(bodies):
            self._publish_batch(batch)

    def _publish_batch(self, batch: list[tuple[AnyEvent, str]]) -> None:
        pending = {str(i): item for i, item in enumerate(batch)}
        error: Exception | None = None
        for _ in self._retry.rounds("PublishBatch", topic_arn=self._topic_arn):
            entries = [
                {
                    "Id": key,
                    "Message": body,
                    "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event.event_type}},
                }
                for key, (event, body) in pending.items()
            ]
            try:
                response = self._sns.publish_batch(TopicArn=self._topic_arn, PublishBatchRequestEntries=entries)
            except (ClientError, BotoCoreError) as exc:
                if not self._retry.retry_on(exc):
                    raise PublishError(f"PublishBatch failed: {exc}") from exc
                error = exc
            else:
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                pending = {key: item for key, item in pending.items() if key in failed}
                if not pending:
                    return
                error = None
        if error is not None:
            raise PublishError(f"PublishBatch failed: {error}") from error
        raise PublishError(f"{len(pending)} events were not published after retries (at most {self._retry.attempts})")
