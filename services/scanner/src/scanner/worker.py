"""The scanner as a long-running worker on the scan-requests queue (Fargate task or local process)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from inventory_events import ScanRequested, parse_event
from pydantic import ValidationError

from scanner.service import ScanService

logger = logging.getLogger(__name__)


class ScanRequestWorker:
    """Takes ScanRequested messages one at a time; keeps each invisible while its scan runs.

    A message is deleted only after its scan has finished, so a crashed task loses no request: the
    message comes back and, after maxReceiveCount, lands in the DLQ. Malformed messages are left to
    the DLQ the same way.
    """

    def __init__(self, sqs: Any, queue_url: str, service: ScanService, *, heartbeat_s: int = 60) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._service = service
        self._heartbeat_s = heartbeat_s

    def poll_once(self, wait_s: int = 20) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_s
        ).get("Messages", [])
        for message in messages:
            self._handle(message)
        return len(messages)

    def _handle(self, message: dict[str, Any]) -> None:
        try:
            event = parse_event(message["Body"])
            if not isinstance(event, ScanRequested):
                raise TypeError(f"scan-requests got {event.event_type}")
        except (ValidationError, TypeError) as exc:
            logger.error("malformed scan request left for the DLQ", extra={"error": str(exc)[:500]})
            return
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(message["ReceiptHandle"], done), daemon=True)
        beat.start()
        try:
            self._service.handle(event)
        finally:
            done.set()
            beat.join()
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _heartbeat(self, receipt_handle: str, done: threading.Event) -> None:
        while not done.wait(self._heartbeat_s / 2):
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=self._heartbeat_s
            )

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once(wait_s=5)
            except Exception:
                logger.exception("scan request worker failed; retrying")
                stop.wait(2.0)
