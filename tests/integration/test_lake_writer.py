"""The lake writer on real pyiceberg (SQL catalog, warehouse in moto S3), read back with DuckDB."""

from __future__ import annotations

import threading

import pytest
from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.duck import attach_views, connect
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings

from tests.builders import T0, later, page, resource, scope, scope_completed, sqs_event
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


def test_scope_completed_before_its_pages_is_parked_and_the_last_page_sweeps(stack: Stack) -> None:
    # GIVEN scan 1 saw resources 1 and 2
    service = build_service(LakeWriterSettings())
    handle_batch(sqs_event(page([resource(1), resource(2)], execution_id="s1"), queue="lake-writer"), None, service)
    # WHEN scan 2's completion (1 page) arrives before its page, which no longer contains resource 2
    done = scope_completed(scope(), execution_id="s2", pages=1, count=1, started=later(59))
    response = handle_batch(sqs_event(done, queue="lake-writer"), None, service)
    # THEN it is accepted (parked in the lake, not sent back to wait out a retry delay) and nothing is marked yet
    assert response == {"batchItemFailures": []}
    assert rows("SELECT count(*) FROM resources WHERE discovery_status = 'missing'") == [(0,)]
    # WHEN its page arrives, and nothing else
    handle_batch(sqs_event(page([resource(1, at=later(60))], execution_id="s2"), queue="lake-writer"), None, service)
    # THEN resource 2 is missing, resource 1 active
    assert rows("SELECT resource_arn, discovery_status, missing_since IS NOT NULL FROM resources ORDER BY 1") == [
        (resource(1).resource_arn, "active", False),
        (resource(2).resource_arn, "missing", True),
    ]
    # AND when scan 3 sees resource 2 again it is active, with its first sighting kept
    handle_batch(sqs_event(page([resource(2, at=later(120))], execution_id="s3"), queue="lake-writer"), None, service)
    assert rows(
        f"SELECT discovery_status, missing_since, first_discovered_at FROM resources "
        f"WHERE resource_arn = '{resource(2).resource_arn}'"
    ) == [("active", None, T0.replace(tzinfo=None))]
    # AND history grew by one row per resource per scan
    assert rows("SELECT execution_id, count(*) FROM resource_history GROUP BY 1 ORDER BY 1") == [
        ("s1", 2),
        ("s2", 1),
        ("s3", 1),
    ]


def test_a_failed_scope_marks_nothing(stack: Stack) -> None:
    service = build_service(LakeWriterSettings())
    handle_batch(sqs_event(page([resource(1)], execution_id="s1"), queue="lake-writer"), None, service)
    failed = scope_completed(scope(), execution_id="s2", pages=0, started=later(59), status="failed")
    assert handle_batch(sqs_event(failed, queue="lake-writer"), None, service) == {"batchItemFailures": []}
    assert rows("SELECT discovery_status FROM resources") == [("active",)]


def test_two_concurrent_writers_lose_no_row(stack: Stack) -> None:
    # GIVEN two writers with their own catalog connections, as two Lambda instances would have
    writers = [build_service(LakeWriterSettings()) for _ in range(2)]
    batches = [
        [page([resource(w * 1000 + b * 10 + i) for i in range(10)], page_no=b + 1) for b in range(3)] for w in range(2)
    ]

    def run(w: int) -> None:
        for event in batches[w]:
            handle_batch(sqs_event(event, queue="lake-writer"), None, writers[w])

    # WHEN they commit at the same time
    threads = [threading.Thread(target=run, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN every row of both is there exactly once
    expected = {r.resource_arn for batch in batches for event in batch for r in event.resources}
    assert {r[0] for r in rows("SELECT resource_arn FROM resources")} == expected
    assert rows("SELECT count(*) FROM resources") == [(len(expected),)]
