from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scanner.ports import ClaimCheckError


def claim_key(execution_id: str, body: bytes) -> str:
    """Content-addressed: the same item stored twice (a retried page) lands on the same key."""
    return f"claims/{execution_id}/{hashlib.sha256(body).hexdigest()}.json"


class S3ClaimStore:
    """Stores raw items too large for a message in the inventory bucket (SSE-S3)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def put(self, execution_id: str, raw: Mapping[str, Any]) -> str:
        body = json.dumps(raw, default=str, separators=(",", ":"), sort_keys=True).encode()
        key = claim_key(execution_id, body)
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                ServerSideEncryption="AES256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise ClaimCheckError(f"claim check s3://{self._bucket}/{key} not stored: {exc}") from exc
        return f"s3://{self._bucket}/{key}"
