"""The web grid's read model as the projector writes it and the API reads it.

Two parts, both derived from the resource items of the single table (which stay the source of truth):

- the **change journal**: whenever the projector writes resource items it also appends their grid rows
  to a log of numbered entries: one atomic ADD on the counter item ``GRIDLOG#HEAD`` reserves the numbers,
  then each entry ``GRIDLOG#{seq}`` holds up to ``ROWS_PER_ENTRY`` rows (ttl a few days). A reader reads
  the head and then exactly the entries it lacks: GetItem and BatchGetItem only, never a Query, so a look
  costs the same whatever the table holds. Entries of one resource are numbered in the order they were
  written (the projector's scope lease serialises writers); a number reserved but not yet written is a
  gap that a reader asks for again until it lands or is given up;
- the **snapshot**: every grid row as an Arrow IPC stream (``grid_arrow``) at one S3 key, with a
  *watermark* (user metadata): every journal entry numbered up to it is in the snapshot. Published by the
  projector; an API instance starts from it and applies the entries after the watermark.

Rows are flat string maps (``GRID_FIELDS``; tags as a JSON object in a string) so a reader can load them
column by column without guessing a schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from inventory_core.items import GRIDLOG_HEAD_KEY, GRIDLOG_STATE_KEY, journal_entry_key, journal_seq_of
from inventory_core.retry import RetryPolicy
from inventory_core.timefmt import iso

logger = logging.getLogger(__name__)

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
#: Rows per journal entry: an entry stays far below DynamoDB's 400 KB item limit.
ROWS_PER_ENTRY = 100
#: Journal entries expire after this (DynamoDB TTL); a snapshot older than this cannot be brought up to date.
JOURNAL_RETENTION = timedelta(days=3)
#: The journal's counter: ``last`` is the highest entry number reserved so far.
JOURNAL_HEAD_KEY = GRIDLOG_HEAD_KEY
#: The S3 key of the snapshot (one object, replaced whole: a reader never sees half of one).
SNAPSHOT_KEY = "readmodel/grid.arrows"
#: S3 user metadata: the journal entry number up to which every entry is in the snapshot; the row count.
WATERMARK_METADATA = "journal-watermark"
ROWS_METADATA = "rows"
#: The publisher's state item (lease, last publication) in the single table.
PUBLISHER_KEY = GRIDLOG_STATE_KEY


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


def journal_chunks(rows: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """Rows split into entries of at most ``ROWS_PER_ENTRY``."""
    return [rows[i : i + ROWS_PER_ENTRY] for i in range(0, len(rows), ROWS_PER_ENTRY)]


def journal_entry_items(
    last_seq: int, chunks: list[list[dict[str, str]]], written_at: datetime
) -> list[dict[str, Any]]:
    """The items of entries numbered up to ``last_seq`` (reserved by one ADD of ``len(chunks)``).

    Args:
        last_seq: The counter's value after the reservation.
        chunks: The rows of each entry, in order (see ``journal_chunks``).
        written_at: When they are written (for the ttl and for people reading the table).

    Returns:
        One item per chunk: the rows as one JSON string (one attribute is cheap to read back), with a ttl.
    """
    first = last_seq - len(chunks) + 1
    ttl = int((written_at + JOURNAL_RETENTION).timestamp())
    return [
        {
            **journal_entry_key(first + n),
            "rows": json.dumps(chunk, separators=(",", ":")),
            "writtenAt": iso(written_at),
            "ttl": ttl,
        }
        for n, chunk in enumerate(chunks)
    ]


def reserve_journal_entries(table: Any, count: int) -> int:
    """Reserve ``count`` entry numbers with one atomic ADD; return the last one reserved.

    Args:
        table: A boto3 resource-layer Table.
        count: How many entries the caller will write.

    Returns:
        The counter after the ADD: the caller's entries are numbered ``last - count + 1`` to ``last``.
    """
    response = table.update_item(
        Key=JOURNAL_HEAD_KEY,
        UpdateExpression="ADD #last :n",
        ExpressionAttributeNames={"#last": "last"},
        ExpressionAttributeValues={":n": count},
        ReturnValues="UPDATED_NEW",
    )
    return int(response["Attributes"]["last"])


def read_journal_head(table: Any) -> int:
    """The highest entry number reserved so far (0 if the journal is empty); one consistent GetItem."""
    item = table.get_item(Key=JOURNAL_HEAD_KEY, ConsistentRead=True).get("Item") or {}
    return int(item.get("last", 0))


def read_journal_entries(table: Any, seqs: Iterable[int], *, attempts: int = 8) -> dict[int, list[dict[str, str]]]:
    """The rows of the given entries that exist (a number reserved but not written yet is absent).

    Args:
        table: A boto3 resource-layer Table (its client takes plain Python values).
        seqs: Entry numbers.
        attempts: BatchGetItem calls per chunk of 100 keys while DynamoDB leaves keys unprocessed.

    Returns:
        Entry number -> its rows, in the order they were written.
    """
    client, name = table.meta.client, table.name
    wanted = sorted(set(seqs))
    found: dict[int, list[dict[str, str]]] = {}
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {
            name: {"Keys": [journal_entry_key(s) for s in wanted[start : start + 100]], "ConsistentRead": True}
        }
        # Throttled: what is left is asked for again, or is a gap.
        for _ in RetryPolicy(attempts=attempts, base_s=0.05, max_s=1.0, logger=logger).rounds("BatchGetItem"):
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(name, []):
                found[journal_seq_of(str(item["pk"]))] = json.loads(item["rows"])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
    return found
