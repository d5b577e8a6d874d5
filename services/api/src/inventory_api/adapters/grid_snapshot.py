"""The read model's sources: the snapshot the projector publishes to S3, and its change journal in the table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from inventory_core.grid import SNAPSHOT_KEY, WATERMARK_METADATA, read_journal_entries, read_journal_head

from inventory_api.ports import StoreError
from inventory_api.readmodel import UNCHANGED, StoredSnapshot, _Unchanged


class S3GridSnapshotSource:
    """``readmodel/grid.csv.gz`` in the inventory bucket; a conditional GET when the ETag is known."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def latest(self, known_etag: str | None) -> StoredSnapshot | _Unchanged | None:
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": SNAPSHOT_KEY}
        if known_etag:
            kwargs["IfNoneMatch"] = known_etag
        try:
            response = self._s3.get_object(**kwargs)
            data = response["Body"].read()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("304", "NotModified"):
                return UNCHANGED
            if code in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"grid snapshot read failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"grid snapshot read failed: {exc}") from exc
        return StoredSnapshot(
            data=data,
            watermark=int(response["Metadata"][WATERMARK_METADATA]),
            etag=str(response["ETag"]),
        )


class DynamoDbChangeJournal:
    """The projector's journal: the counter item, then the entries by key (GetItem/BatchGetItem, no Query)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def head(self) -> int:
        try:
            return read_journal_head(self._table)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"change journal read failed: {exc}") from exc

    def entries(self, seqs: Iterable[int]) -> dict[int, list[dict[str, str]]]:
        try:
            return read_journal_entries(self._table, seqs)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"change journal read failed: {exc}") from exc
