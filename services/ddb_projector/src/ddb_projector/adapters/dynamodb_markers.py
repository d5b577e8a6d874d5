from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from uuid import UUID

from botocore.exceptions import ClientError
from inventory_core.items import event_marker_key

from ddb_projector.adapters.dynamodb_store import StoreError


class DynamoDbProcessedEvents:
    """Processed-event markers in the single table; ``ttl`` lets DynamoDB delete them after expiry."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def is_processed(self, event_id: UUID) -> bool:
        try:
            item = self._table.get_item(Key=event_marker_key(event_id), ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise StoreError(f"reading the marker of {event_id} failed: {exc}") from exc
        # TTL deletion lags (up to days on AWS, never on moto): an expired marker is no marker
        return item is not None and int(item["ttl"]) > int(time.time())

    def mark_processed(self, event_id: UUID, expires_at: datetime) -> None:
        try:
            self._table.put_item(Item={**event_marker_key(event_id), "ttl": int(expires_at.timestamp())})
        except ClientError as exc:
            raise StoreError(f"writing the marker of {event_id} failed: {exc}") from exc
