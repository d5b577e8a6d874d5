"""The snapshot publisher's adapters: the single table (state item, journal, full read) and S3 (the snapshot)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from inventory_core.dynamo import condition_failed, query_items
from inventory_core.grid import (
    PUBLISHER_KEY,
    ROWS_METADATA,
    SNAPSHOT_KEY,
    WATERMARK_METADATA,
    grid_row,
    read_journal_entries,
    read_journal_head,
)
from inventory_core.items import ALL_ACCOUNTS_GSI1PK, account_id_of, account_pk, resource_sk_prefix
from inventory_core.timefmt import iso, parse_iso

from ddb_projector.snapshot import PublisherState

_STATE_KEY = PUBLISHER_KEY
_ROW_PROJECTION = (
    "resourceId, resourceArn, resourceType, accountId, #n, #r, #s, tags, lastDiscoveredAt, firstDiscoveredAt, "
    "discoveryStatus"
)


class DynamoDbGridSource:
    """State item ``GRIDLOG#STATE/SNAPSHOT``, the journal, and every registered account's resource partition."""

    def __init__(self, table: Any, *, parallelism: int = 8) -> None:
        self._table = table
        self._parallelism = parallelism

    def state(self) -> PublisherState:
        item = self._table.get_item(Key=_STATE_KEY, ConsistentRead=True).get("Item") or {}
        published, full = item.get("publishedAt"), item.get("fullAt")
        return PublisherState(
            published_at=parse_iso(str(published)) if published else None,
            full_at=parse_iso(str(full)) if full else None,
            head=int(item.get("head", 0)),
            watermark=int(item.get("watermark", 0)),
        )

    def take_lease(self, holder: str, now: datetime, until: datetime) -> bool:
        try:
            self._table.update_item(
                Key=_STATE_KEY,
                UpdateExpression="SET leaseHolder = :h, leaseUntil = :until",
                ConditionExpression="attribute_not_exists(leaseUntil) OR leaseUntil < :now",
                ExpressionAttributeValues={":h": holder, ":until": iso(until), ":now": iso(now)},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def finish(self, holder: str, state: PublisherState) -> None:
        assert state.published_at is not None
        values: dict[str, Any] = {
            ":p": iso(state.published_at),
            ":f": iso(state.full_at or state.published_at),
            ":head": state.head,
            ":w": state.watermark,
            ":h": holder,
        }
        try:
            self._table.update_item(
                Key=_STATE_KEY,
                UpdateExpression="SET publishedAt = :p, fullAt = :f, head = :head, watermark = :w "
                "REMOVE leaseHolder, leaseUntil",
                ConditionExpression="leaseHolder = :h",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise  # a lost lease: the newer holder records its own publication

    def release(self, holder: str) -> None:
        try:
            self._table.update_item(
                Key=_STATE_KEY,
                UpdateExpression="REMOVE leaseHolder, leaseUntil",
                ConditionExpression="leaseHolder = :h",
                ExpressionAttributeValues={":h": holder},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise

    def journal_head(self) -> int:
        return read_journal_head(self._table)

    def journal_entries(self, seqs: Iterable[int]) -> dict[int, list[dict[str, str]]]:
        return read_journal_entries(self._table, seqs)

    def _account_rows(self, account_id: str) -> list[dict[str, str]]:
        items = query_items(
            self._table.meta.client,  # thread-safe, unlike the resource object
            TableName=self._table.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": account_pk(account_id), ":sk": resource_sk_prefix()},
            ProjectionExpression=_ROW_PROJECTION,
            ExpressionAttributeNames={"#n": "name", "#r": "region", "#s": "state"},
        )
        return [grid_row(item) for item in items]

    def all_rows(self) -> list[dict[str, str]]:
        accounts = query_items(
            self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": ALL_ACCOUNTS_GSI1PK},
            ProjectionExpression="pk",
        )
        account_ids = sorted({account_id_of(str(a["pk"])) for a in accounts})
        with ThreadPoolExecutor(max(1, min(self._parallelism, len(account_ids)))) as pool:
            return [row for part in pool.map(self._account_rows, account_ids) for row in part]


class S3SnapshotStore:
    """The snapshot at ``readmodel/grid.arrows`` in the inventory bucket (Arrow IPC, SSE-S3, watermark in its
    metadata); merged in columns, so a publication never holds the whole inventory as Python objects."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def watermark(self) -> int | None:
        try:
            response = self._s3.head_object(Bucket=self._bucket, Key=SNAPSHOT_KEY)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return int(response["Metadata"][WATERMARK_METADATA])

    def publish(self, base: list[dict[str, str]] | None, changes: list[dict[str, str]], watermark: int) -> int:
        # pyarrow only here: the projector's Lambda imports it when it publishes, not on every cold start
        from inventory_core.grid_arrow import apply_rows, decode_table, encode_table, table_from_rows

        if base is None:
            body = self._s3.get_object(Bucket=self._bucket, Key=SNAPSHOT_KEY)["Body"].read()
            table = decode_table(body)
        else:
            table = table_from_rows(base)
        table = apply_rows(table, changes)
        self._s3.put_object(
            Bucket=self._bucket,
            Key=SNAPSHOT_KEY,
            Body=encode_table(table),
            ContentType="application/vnd.apache.arrow.stream",
            ServerSideEncryption="AES256",
            Metadata={WATERMARK_METADATA: str(watermark), ROWS_METADATA: str(table.num_rows)},
        )
        return int(table.num_rows)
