from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_events import ScanRequested

from inventory_api.ports import StoreError


class SqsScanRequestSender:
    """Sends ScanRequested as the JSON body, with ``event_type`` as a message attribute (as SNS would)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, event: ScanRequested) -> None:
        try:
            self._sqs.send_message(
                QueueUrl=self._queue_url,
                MessageBody=event.model_dump_json(),
                MessageAttributes={"event_type": {"DataType": "String", "StringValue": event.event_type}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scan request could not be sent: {exc}") from exc
