from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from archiver.ports import UploadError


class S3ObjectStore:
    """JSON objects in the inventory bucket, always SSE-S3, uploads retried with backoff."""

    def __init__(self, s3: Any, bucket: str, *, attempts: int = 3, backoff_s: float = 0.2) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._attempts = attempts
        self._backoff_s = backoff_s
        self.upload_failures = 0

    def put_json(self, key: str, document: Any) -> None:
        body = json.dumps(document, default=str, separators=(",", ":")).encode()
        for attempt in range(self._attempts):
            try:
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    ServerSideEncryption="AES256",
                )
                return
            except (ClientError, BotoCoreError) as exc:
                if attempt == self._attempts - 1:
                    self.upload_failures += 1
                    raise UploadError(f"put s3://{self._bucket}/{key} failed {self._attempts} times: {exc}") from exc
                time.sleep(self._backoff_s * 2**attempt)

    def get_json(self, key: str) -> Any | None:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(body)
