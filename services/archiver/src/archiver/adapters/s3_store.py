from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.retry import RetryPolicy

from archiver.ports import TaggedDocument, UploadError, WriteConflictError

logger = logging.getLogger(__name__)

#: S3's answers when a conditional PutObject loses: the ETag no longer matches (412), another conditional
#: write is in flight (409), or the object we read was deleted meanwhile (If-Match on a missing key: 404).
CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"})


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _aws_error(exc: BaseException) -> bool:
    return isinstance(exc, ClientError | BotoCoreError)


class S3ObjectStore:
    """JSON objects in the inventory bucket, always SSE-S3, uploads retried with backoff.

    ``put_json_if`` is S3's conditional write: ``If-Match: <etag>`` replaces only the version that was read,
    ``If-None-Match: *`` creates only if nothing is there, so two writers can never both win.
    """

    def __init__(
        self, s3: Any, bucket: str, *, attempts: int = 3, backoff_s: float = 0.2, retry: RetryPolicy | None = None
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        # Any failed upload but a lost conditional write is tried again (an S3 fault may be a 403 or a 5xx).
        self._retry = retry or RetryPolicy(
            attempts=attempts, base_s=backoff_s, max_s=5.0, retry_on=_aws_error, logger=logger
        )
        self.upload_failures = 0

    def _put(self, key: str, document: Any, **condition: str) -> None:
        body = json.dumps(document, default=str, separators=(",", ":")).encode()

        def put() -> None:
            try:
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    ServerSideEncryption="AES256",
                    **condition,
                )
            except ClientError as exc:
                if condition and _code(exc) in CONFLICT_CODES:
                    raise WriteConflictError(f"s3://{self._bucket}/{key} changed since it was read") from exc
                raise

        try:
            self._retry.call(put, operation="PutObject", key=key)
        except (ClientError, BotoCoreError) as exc:
            self.upload_failures += 1
            raise UploadError(f"put s3://{self._bucket}/{key} failed {self._retry.attempts} times: {exc}") from exc

    def put_json(self, key: str, document: Any) -> None:
        self._put(key, document)

    def put_json_if(self, key: str, document: Any, *, etag: str | None) -> None:
        if etag is None:
            self._put(key, document, IfNoneMatch="*")
        else:
            self._put(key, document, IfMatch=etag)

    def get_tagged(self, key: str) -> TaggedDocument | None:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return TaggedDocument(json.loads(response["Body"].read()), str(response["ETag"]))

    def get_json(self, key: str) -> Any | None:
        tagged = self.get_tagged(key)
        return tagged.document if tagged else None

    def keys_under(self, prefix: str) -> set[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
        return {obj["Key"] for page in pages for obj in page.get("Contents", [])}
