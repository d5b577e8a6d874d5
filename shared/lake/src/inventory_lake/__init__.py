"""Iceberg tables of the inventory: schemas, catalog factory, Arrow conversion.

DuckDB access lives in :mod:`inventory_lake.duck` (the ``duckdb`` extra) so the lake writer's image does
not carry DuckDB.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from inventory_core.settings import IcebergSettings
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    IntegerType,
    MapType,
    NestedField,
    StringType,
    TimestampType,
)

RESOURCES_TABLE = "resources"
HISTORY_TABLE = "resource_history"
SCOPE_PAGES_TABLE = "scope_pages"


def _string(field_id: int, name: str, required: bool = False) -> NestedField:
    return NestedField(field_id, name, StringType(), required=required)


def _map(field_id: int, key_id: int, value_id: int, name: str) -> NestedField:
    return NestedField(
        field_id,
        name,
        MapType(key_id=key_id, key_type=StringType(), value_id=value_id, value_type=StringType(), value_required=False),
        required=False,
    )


def _ts(field_id: int, name: str) -> NestedField:
    return NestedField(field_id, name, TimestampType(), required=False)


RESOURCES_SCHEMA = Schema(
    _string(1, "resource_arn", required=True),
    _string(2, "resource_id"),
    _string(3, "resource_type"),
    _string(4, "account_id"),
    _string(5, "region"),
    _string(6, "name"),
    _string(7, "state"),
    _map(8, 101, 102, "tags"),
    _map(9, 103, 104, "metadata"),
    _ts(10, "discovered_at"),
    _string(11, "discovery_status"),
    _ts(12, "first_discovered_at"),
    _ts(13, "last_discovered_at"),
    _ts(14, "missing_since"),
    _string(15, "last_execution_id"),
    identifier_field_ids=[1],
)
"""Current state, one row per ``resource_arn`` (TRD section 3.2 plus status columns)."""

HISTORY_SCHEMA = Schema(
    _string(1, "execution_id", required=True),
    _string(2, "resource_arn", required=True),
    _string(3, "resource_id"),
    _string(4, "resource_type"),
    _string(5, "account_id"),
    _string(6, "region"),
    _string(7, "name"),
    _string(8, "state"),
    _map(9, 101, 102, "tags"),
    _map(10, 103, 104, "metadata"),
    _ts(11, "discovered_at"),
    identifier_field_ids=[1, 2],
)
"""Append-only, one row per resource per scan, partitioned by day of ``discovered_at``."""

SCOPE_PAGES_SCHEMA = Schema(
    _string(1, "execution_id", required=True),
    _string(2, "account_id", required=True),
    _string(3, "region", required=True),
    _string(4, "resource_type", required=True),
    NestedField(5, "page", IntegerType(), required=True),
    _ts(6, "applied_at"),
)
"""The lake writer's record of which pages of which (execution, scope) are applied (missing-resource protocol)."""

HISTORY_SPEC = PartitionSpec(
    PartitionField(source_id=11, field_id=1000, transform=DayTransform(), name="discovered_day")
)

RESOURCES_PARTITIONS = ("account_id", "region", "resource_type")
"""``resources`` is partitioned by scope: a page replaces rows of one partition, so a commit rewrites the files
of the scopes in its batch only, not the whole table (row-level bounds cannot prune by ARN: every ARN of a type
and region shares the 16-character prefix Parquet statistics keep)."""
RESOURCES_SPEC = PartitionSpec(
    *(
        PartitionField(
            source_id=RESOURCES_SCHEMA.find_field(name).field_id,
            field_id=1000 + i,
            transform=IdentityTransform(),
            name=name,
        )
        for i, name in enumerate(RESOURCES_PARTITIONS)
    )
)


MANIFEST_MERGE_PROPERTIES = {
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "10",
}
"""Every append (and the append half of an overwrite) merges the table's manifests into one once there are 10:
without it each commit adds a manifest to the current snapshot for good, and every scan, delete and commit
reads them all, so a commit got slower with every scan (pyiceberg's default is fast append, no merging)."""


def s3_properties() -> dict[str, str]:
    """FileIO properties for S3: the endpoint of ``AWS_ENDPOINT_URL`` when set, and the region."""
    props: dict[str, str] = {}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        props["s3.region"] = region
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        props["s3.endpoint"] = endpoint
        props["s3.force-virtual-addressing"] = "false"
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            props["s3.access-key-id"] = os.environ["AWS_ACCESS_KEY_ID"]
            props["s3.secret-access-key"] = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
            if os.environ.get("AWS_SESSION_TOKEN"):  # assumed-role (temporary) credentials
                props["s3.session-token"] = os.environ["AWS_SESSION_TOKEN"]
    return props


def load_catalog(settings: IcebergSettings) -> Catalog:
    """Build the configured Iceberg catalog (see :class:`IcebergSettings` for the kinds)."""
    if settings.iceberg_catalog_type == "s3tables":
        from inventory_core.aws import AwsClientFactory

        from inventory_lake.s3tables import S3TablesCatalog

        client = AwsClientFactory(settings.aws_region).client("s3tables")
        return S3TablesCatalog("inventory", client, str(settings.iceberg_table_bucket_arn), **s3_properties())
    if settings.iceberg_catalog_type == "rest":
        from pyiceberg.catalog.rest import RestCatalog

        return RestCatalog(
            "inventory",
            uri=str(settings.iceberg_catalog_uri),
            warehouse=str(settings.iceberg_warehouse),
            **{
                "rest.sigv4-enabled": "true",
                "rest.signing-name": "s3tables",
                "rest.signing-region": settings.aws_region,
            },
        )
    uri = str(settings.iceberg_catalog_uri)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return SqlCatalog("inventory", uri=uri, warehouse=str(settings.iceberg_warehouse), **s3_properties())


@dataclass(frozen=True)
class LakeTables:
    """The tables of the inventory namespace."""

    resources: Table
    history: Table
    scope_pages: Table


def ensure_tables(catalog: Catalog, namespace: str) -> LakeTables:
    """Create the namespace and the tables if missing (idempotent)."""
    with contextlib.suppress(NamespaceAlreadyExistsError):
        catalog.create_namespace(namespace)
    tables = []
    for name, schema, spec in (
        (RESOURCES_TABLE, RESOURCES_SCHEMA, RESOURCES_SPEC),
        (HISTORY_TABLE, HISTORY_SCHEMA, HISTORY_SPEC),
        (SCOPE_PAGES_TABLE, SCOPE_PAGES_SCHEMA, PartitionSpec()),
    ):
        try:
            tables.append(
                catalog.create_table(
                    f"{namespace}.{name}", schema=schema, partition_spec=spec, properties=MANIFEST_MERGE_PROPERTIES
                )
            )
        except TableAlreadyExistsError:
            tables.append(catalog.load_table(f"{namespace}.{name}"))
    _partition_by_scope(tables[0])
    for table in tables:
        ensure_properties(table, MANIFEST_MERGE_PROPERTIES)
    return LakeTables(*tables)


def _partition_by_scope(resources: Table) -> None:
    """Evolve a ``resources`` table created unpartitioned (before RESOURCES_SPEC) to it; new rows use it.

    Idempotent, and a writer that loses the race to another doing the same finds the spec already evolved.
    """
    if resources.spec().fields:
        return
    try:
        with resources.update_spec() as update:
            for name in RESOURCES_PARTITIONS:
                update.add_identity(name)
    except CommitFailedException:
        resources.refresh()


def ensure_properties(table: Table, properties: dict[str, str]) -> None:
    """Set ``properties`` on a table created without them (idempotent; a lost race is no harm)."""
    if all(table.properties.get(k) == v for k, v in properties.items()):
        return
    try:
        with table.transaction() as tx:
            tx.set_properties(properties)
    except CommitFailedException:
        table.refresh()


def load_table(catalog: Catalog, namespace: str, name: str) -> Table | None:
    """Load a table, or None if it does not exist yet."""
    try:
        return catalog.load_table(f"{namespace}.{name}")
    except NoSuchTableError:
        return None


def to_naive_utc(value: datetime) -> datetime:
    """Iceberg ``timestamp`` columns hold UTC without a zone."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def arrow_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build an Arrow table in the Iceberg schema from row dicts."""
    return pa.Table.from_pylist(rows, schema=schema)
