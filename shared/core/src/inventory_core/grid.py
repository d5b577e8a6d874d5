"""The web grid's read model as the projector writes it and the API reads it.

Two parts, both derived from the resource items of the single table (which stay the source of truth):

- the **change journal**: every time the projector writes a resource item it also writes the item's grid
  row into a journal partition ``GRIDLOG#{hour}#{shard}`` (sort key ``{changedAt}#{arn}``, ttl a few
  days). An API instance reads the entries since its last look to show a change within seconds;
- the **snapshot**: every grid row as gzip'd CSV at one S3 key, with a *watermark* (user metadata):
  every change stamped before the watermark is in it. Published by the projector; an API instance starts
  from it and applies the journal entries stamped after the watermark.

Rows are flat string maps (``GRID_FIELDS``; tags as a JSON object in a string) so a reader can load them
column by column without guessing a schema.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from inventory_core.dynamo import query_items
from inventory_core.timefmt import iso

#: The grid's columns, in snapshot order; every value is a string.
GRID_FIELDS = (
    "resourceArn",
    "resourceId",
    "resourceType",
    "accountId",
    "name",
    "region",
    "state",
    "tags",
    "lastDiscoveredAt",
    "firstDiscoveredAt",
    "discoveryStatus",
)
#: Journal partitions per hour: spreads a scan burst over several partitions (1,000 writes/s each).
JOURNAL_SHARDS = 4
#: Journal entries expire after this (DynamoDB TTL); a snapshot older than this cannot be brought up to date.
JOURNAL_RETENTION = timedelta(days=3)
#: How long a stamped entry may take to land in the table: readers always re-read this much behind their
#: last position, so an entry that landed late is still seen (re-applying an entry changes nothing).
LANDING_SLACK = timedelta(seconds=5)
#: The S3 key of the snapshot (one object, replaced whole: a reader never sees half of one).
SNAPSHOT_KEY = "readmodel/grid.csv.gz"
#: S3 user metadata: ISO time before which every journal entry is in the snapshot; and the row count.
WATERMARK_METADATA = "watermark"
ROWS_METADATA = "rows"
#: The publisher's state item (lease, last publication) in the single table.
PUBLISHER_PK = "GRIDLOG#STATE"
PUBLISHER_SK = "SNAPSHOT"


def grid_row(item: dict[str, Any]) -> dict[str, str]:
    """The grid row of a resource item (as the boto3 resource layer returns it).

    Args:
        item: A resource item of the single table.

    Returns:
        Every field of ``GRID_FIELDS`` as a string; tags as a JSON object with sorted keys.
    """
    tags = {str(k): str(v) for k, v in (item.get("tags") or {}).items()}
    return {
        "resourceArn": str(item["resourceArn"]),
        "resourceId": str(item.get("resourceId", "")),
        "resourceType": str(item.get("resourceType", "")),
        "accountId": str(item.get("accountId", "")),
        "name": str(item.get("name") or ""),
        "region": str(item.get("region", "")),
        "state": str(item.get("state") or ""),
        "tags": json.dumps(tags, sort_keys=True, separators=(",", ":")),
        "lastDiscoveredAt": str(item.get("lastDiscoveredAt") or ""),
        "firstDiscoveredAt": str(item.get("firstDiscoveredAt") or ""),
        "discoveryStatus": str(item.get("discoveryStatus") or "active"),
    }


def journal_shard(resource_arn: str) -> int:
    """The journal shard of a resource (stable across processes)."""
    return zlib.crc32(resource_arn.encode()) % JOURNAL_SHARDS


def journal_pk(at: datetime, shard: int) -> str:
    """The journal partition of the hour ``at`` falls in."""
    return f"GRIDLOG#{iso(at)[:13]}#{shard}"


def journal_pks(since: datetime, until: datetime) -> list[str]:
    """Every journal partition that can hold an entry stamped between ``since`` and ``until``.

    Args:
        since: The earliest stamp wanted.
        until: The latest stamp wanted (a reader adds its own clock's slack).

    Returns:
        Partition keys, oldest hour first, every shard of each hour.
    """
    hour = since.replace(minute=0, second=0, microsecond=0)
    keys: list[str] = []
    while hour <= until:
        keys += [journal_pk(hour, shard) for shard in range(JOURNAL_SHARDS)]
        hour += timedelta(hours=1)
    return keys


def journal_item(row: dict[str, str], changed_at: datetime) -> dict[str, Any]:
    """The journal entry of one written row, stamped ``changed_at``.

    Args:
        row: The grid row as written (``grid_row`` of the item).
        changed_at: When it was written (the writer's clock).

    Returns:
        The item: the row as one JSON string (one attribute is cheap to read back), with a ttl.
    """
    return {
        "pk": journal_pk(changed_at, journal_shard(row["resourceArn"])),
        "sk": f"{iso(changed_at)}#{row['resourceArn']}",
        "row": json.dumps(row, separators=(",", ":")),
        "ttl": int((changed_at + JOURNAL_RETENTION).timestamp()),
    }


def encode_snapshot(rows: Iterable[dict[str, str]]) -> bytes:
    """Gzip'd CSV (RFC 4180 quoting), a header of ``GRID_FIELDS`` then one grid row per line.

    CSV rather than JSON lines: Arrow's CSV reader parses it about three times faster, and the reader's
    cold start is what the snapshot is for.
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=5, mtime=0) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(GRID_FIELDS)
        writer.writerows([row[f] for f in GRID_FIELDS] for row in rows)
        text.flush()
        text.detach()
    return buffer.getvalue()


def decode_snapshot(data: bytes) -> Iterator[dict[str, str]]:
    """The rows of an encoded snapshot (see ``encode_snapshot``)."""
    reader = csv.DictReader(io.StringIO(gzip.decompress(data).decode("utf-8"), newline=""))
    for row in reader:
        yield {f: row.get(f) or "" for f in GRID_FIELDS}


def read_journal(
    table: Any, since: datetime, until: datetime, *, parallelism: int = 8
) -> list[tuple[str, dict[str, str]]]:
    """Every journal entry stamped at or after ``since``, oldest first.

    Args:
        table: A boto3 resource-layer Table (its client is used from several threads).
        since: The earliest stamp wanted.
        until: The reader's now plus slack for other writers' clocks (bounds the hourly partitions read).
        parallelism: Partitions queried at once.

    Returns:
        ``(sort key, row)`` pairs in stamp order: apply them in order and the last one of a resource wins.
    """
    client, name, start = table.meta.client, table.name, iso(since)

    def partition(pk: str) -> list[tuple[str, dict[str, str]]]:
        items = query_items(
            client,
            TableName=name,
            KeyConditionExpression="pk = :pk AND sk >= :since",
            ExpressionAttributeValues={":pk": pk, ":since": start},
            ProjectionExpression="sk, #row",
            ExpressionAttributeNames={"#row": "row"},
        )
        return [(str(item["sk"]), json.loads(item["row"])) for item in items]

    keys = journal_pks(since, until)
    with ThreadPoolExecutor(max(1, min(parallelism, len(keys)))) as pool:
        entries = [entry for part in pool.map(partition, keys) for entry in part]
    entries.sort(key=lambda entry: entry[0])
    return entries
