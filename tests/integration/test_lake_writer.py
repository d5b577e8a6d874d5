"""The lake writer on real pyiceberg (SQL catalog, warehouse in moto S3), read back with DuckDB."""

from __future__ import annotations

import pytest
from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.duck import attach_views, connect
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings

from tests.builders import later, page, resource, scope, scope_completed, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


def rows(sql: str) -> list[tuple[object, ...]]:
    con = connect()
    settings = IcebergSettings()
    attach_views(con, load_catalog(settings), settings.iceberg_namespace)
    return con.execute(sql).fetchall()


def test_a_batch_lands_as_one_commit_and_duckdb_reads_it(stack: Stack) -> None:
    service = build_service(LakeWriterSettings())
    event = sqs_event(
        page([resource(i) for i in range(3)], page_no=1),
        page([resource(i) for i in range(3, 5)], page_no=2),
        scope_completed(scope(), pages=2, count=5),
        queue="lake-writer",
    )
    assert handle_batch(event, None, service) == {"batchItemFailures": []}
    assert rows("SELECT count(*), count(DISTINCT resource_arn) FROM resources") == [(5, 5)]
    assert rows("SELECT count(*) FROM resource_history") == [(5,)]
    tags = rows(f"SELECT tags['team'], state FROM resources WHERE resource_arn = '{resource(1).resource_arn}'")
    assert tags == [("platform", "running")]
    table = load_catalog(IcebergSettings()).load_table(f"{stack.env['ICEBERG_NAMESPACE']}.resources")
    assert len(table.snapshots()) <= 2  # delete (nothing) + append, committed together


def test_duplicates_and_older_pages_leave_the_newest_row(stack: Stack) -> None:
    service = build_service(LakeWriterSettings())
    newer = resource(1, at=later(60), state="stopped")
    handle_batch(sqs_event(page([newer], execution_id="new"), queue="lake-writer"), None, service)
    handle_batch(sqs_event(page([newer], execution_id="new"), queue="lake-writer"), None, service)
    handle_batch(sqs_event(page([resource(1)], execution_id="old"), queue="lake-writer"), None, service)
    assert rows("SELECT state, last_execution_id, first_discovered_at <= last_discovered_at FROM resources") == [
        ("stopped", "new", True)
    ]
    # history keeps one row per resource per scan, duplicates included only once
    assert rows("SELECT execution_id, count(*) FROM resource_history GROUP BY 1 ORDER BY 1") == [("new", 1), ("old", 1)]


def test_unexpected_event_fails_alone(stack: Stack) -> None:
    from inventory_events import ScanRequested

    service = build_service(LakeWriterSettings())
    event = sqs_event(page([resource(1)]), ScanRequested(execution_id="x"), queue="lake-writer")
    response = handle_batch(event, None, service)
    assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][1]["messageId"]}]
    assert rows("SELECT count(*) FROM resources") == [(1,)]
