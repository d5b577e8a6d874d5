"""The production catalog path, S3 Tables through its own API, against moto's s3tables."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.settings import IcebergSettings
from inventory_core.topology import build_topology
from inventory_lake import RESOURCES_TABLE, load_catalog
from inventory_lake.duck import open_views, query
from inventory_lake.s3tables import S3TablesCatalog
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings
from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError
from pyiceberg.types import StringType

from tests.builders import later, page, resource, scope, scope_completed, sqs_event

pytestmark = pytest.mark.emulator


@pytest.fixture
def s3tables_env(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    env = provision(
        AwsClientFactory("us-east-1"),
        build_topology("123456789012", "us-east-1", prefix=prefix),
        state_dir=tmp_path,
        catalog="s3tables",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_configuration_alone_switches_writer_and_duckdb_to_s3_tables(s3tables_env: dict[str, str]) -> None:
    settings = IcebergSettings()
    assert settings.iceberg_catalog_type == "s3tables"
    catalog = load_catalog(settings)
    assert isinstance(catalog, S3TablesCatalog)
    # WHEN the lake writer applies two scans, the second without resource 2
    service = build_service(LakeWriterSettings())
    handle_batch(sqs_event(page([resource(1), resource(2)], execution_id="s1")), None, service)
    second = page([resource(1, at=later(60))], execution_id="s2", started=later(59))
    done = scope_completed(scope(), execution_id="s2", pages=1, count=1, started=later(59))
    assert handle_batch(sqs_event(second, done), None, service) == {"batchItemFailures": []}
    # THEN the table's metadata lives in the table bucket's managed storage and DuckDB reads it
    location = catalog.load_table(f"{settings.iceberg_namespace}.{RESOURCES_TABLE}").metadata_location
    assert location.startswith("s3://") and "--table-s3" in location
    con = open_views(catalog, settings.iceberg_namespace)
    assert query(con, "SELECT resource_id, discovery_status FROM resources ORDER BY 1")[1] == [
        (resource(1).resource_id, "active"),
        (resource(2).resource_id, "missing"),
    ]


def test_a_stale_version_token_is_a_commit_conflict(s3tables_env: dict[str, str]) -> None:
    settings = IcebergSettings()
    writer_a, writer_b = load_catalog(settings), load_catalog(settings)
    name = f"{settings.iceberg_namespace}.{RESOURCES_TABLE}"
    table_a, table_b = writer_a.load_table(name), writer_b.load_table(name)
    with table_a.update_schema() as update:
        update.add_column("note_a", StringType())
    with pytest.raises(CommitFailedException), table_b.update_schema() as update:
        update.add_column("note_b", StringType())
    assert "note_a" in writer_b.load_table(name).schema().column_names


def test_creating_an_existing_table_is_refused(s3tables_env: dict[str, str]) -> None:
    settings = IcebergSettings()
    catalog = load_catalog(settings)
    existing = catalog.load_table(f"{settings.iceberg_namespace}.{RESOURCES_TABLE}")
    with pytest.raises(TableAlreadyExistsError):
        catalog.create_table(f"{settings.iceberg_namespace}.{RESOURCES_TABLE}", schema=existing.schema())
    assert (settings.iceberg_namespace, RESOURCES_TABLE) in catalog.list_tables(settings.iceberg_namespace)


def test_publishing_with_a_token_another_writer_used_fails(s3tables_env: dict[str, str]) -> None:
    # GIVEN writer B read the version token, then writer A committed
    settings = IcebergSettings()
    catalog = load_catalog(settings)
    assert isinstance(catalog, S3TablesCatalog)
    client = AwsClientFactory("us-east-1").client("s3tables")
    where = client.get_table_metadata_location(
        tableBucketARN=settings.iceberg_table_bucket_arn, namespace=settings.iceberg_namespace, name=RESOURCES_TABLE
    )
    with catalog.load_table(f"{settings.iceberg_namespace}.{RESOURCES_TABLE}").update_schema() as update:
        update.add_column("note_a", StringType())
    # WHEN B publishes its metadata with the token it read THEN S3 Tables refuses: a commit conflict
    with pytest.raises(CommitFailedException, match="another writer"):
        catalog._publish(settings.iceberg_namespace, RESOURCES_TABLE, where["metadataLocation"], where["versionToken"])
