"""What each store holds, for the demo's closing summary and `inventory local status`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from boto3.dynamodb.conditions import Key
from inventory_core.aws import AwsClientFactory
from inventory_core.dynamo import query_items
from inventory_core.items import ALL_RESOURCES_GSI1PK
from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.duck import attach_views, connect


@dataclass(frozen=True)
class StoreSummary:
    dynamodb: dict[str, int]
    iceberg: dict[str, int]
    s3_raw: dict[str, int]
    raw_documents: int

    def lines(self) -> list[str]:
        types = sorted(set(self.dynamodb) | set(self.iceberg) | set(self.s3_raw))
        out = [f"{'type':<10} {'DynamoDB':>9} {'Iceberg':>9} {'S3 raw':>9}"]
        for t in types:
            out.append(f"{t:<10} {self.dynamodb.get(t, 0):>9} {self.iceberg.get(t, 0):>9} {self.s3_raw.get(t, 0):>9}")
        out.append(
            f"{'total':<10} {sum(self.dynamodb.values()):>9} {sum(self.iceberg.values()):>9} "
            f"{sum(self.s3_raw.values()):>9}   ({self.raw_documents} raw documents)"
        )
        return out


def dynamodb_counts(clients: AwsClientFactory, table_name: str) -> dict[str, int]:
    table = clients.dynamodb_table(table_name)
    counts: dict[str, int] = {}
    items = query_items(
        table,
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq(ALL_RESOURCES_GSI1PK),
        ProjectionExpression="resourceType, discoveryStatus",
    )
    for item in items:
        if item.get("discoveryStatus") == "active":
            counts[item["resourceType"]] = counts.get(item["resourceType"], 0) + 1
    return counts


def iceberg_counts(settings: IcebergSettings) -> dict[str, int]:
    con = connect()
    if "resources" not in attach_views(con, load_catalog(settings), settings.iceberg_namespace):
        return {}
    rows = con.execute(
        "SELECT resource_type, count(*) FROM resources WHERE discovery_status = 'active' GROUP BY 1"
    ).fetchall()
    return {str(t): int(n) for t, n in rows}


def raw_counts(clients: AwsClientFactory, bucket: str) -> tuple[dict[str, int], int]:
    """Raw items per type in the newest day's document of each account, and how many documents that is.

    A day's document is the union of that day's scans (``raw/year=/month=/day=/{accountId}/inventory.json``),
    so the newest one of an account is its current raw inventory; older days are history and not counted.
    """
    s3 = clients.client("s3")
    newest: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
        for obj in page.get("Contents", []):
            key = str(obj["Key"])
            parts = key.split("/")
            if len(parts) != 6 or parts[-1] != "inventory.json":
                continue
            # year=YYYY/month=MM/day=DD are zero-padded: the newest day sorts last
            newest[parts[4]] = max(newest.get(parts[4], ""), key)
    counts: dict[str, int] = {}
    for key in newest.values():
        doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for by_type in doc.get("regions", {}).values():
            for resource_type, items in by_type.items():
                counts[resource_type] = counts.get(resource_type, 0) + len(items)
    return counts, len(newest)


def summarize(clients: AwsClientFactory) -> StoreSummary:
    iceberg = IcebergSettings()  # values come from the environment
    raw, documents = raw_counts(clients, os.environ["INVENTORY_BUCKET"])
    return StoreSummary(
        dynamodb=dynamodb_counts(clients, os.environ["APP_TABLE_NAME"]),
        iceberg=iceberg_counts(iceberg),
        s3_raw=raw,
        raw_documents=documents,
    )
