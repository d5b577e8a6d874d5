"""A commit's cost must not grow with the tables' age: manifests merged, ``scope_pages`` compacted."""

from __future__ import annotations

import pytest
from inventory_core.settings import IcebergSettings
from inventory_lake import MANIFEST_MERGE_PROPERTIES, SCOPE_PAGES_TABLE, ensure_tables, load_catalog
from lake_writer.adapters.iceberg_store import IcebergLakeStore
from lake_writer.bootstrap import build_service
from lake_writer.ports import AppliedPage
from lake_writer.settings import LakeWriterSettings

from tests.builders import later, page, resource, scope, scope_completed
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


def _namespace(stack: Stack) -> str:
    return stack.env["ICEBERG_NAMESPACE"]


def test_tables_merge_manifests_and_an_old_table_is_given_the_setting(stack: Stack) -> None:
    # GIVEN the lake's tables, one of which lost its manifest-merge setting (a table made before it existed)
    catalog = load_catalog(IcebergSettings())
    tables = ensure_tables(catalog, _namespace(stack))
    with tables.scope_pages.transaction() as tx:
        tx.remove_properties(*MANIFEST_MERGE_PROPERTIES)
    assert (
        "commit.manifest-merge.enabled" not in catalog.load_table(f"{_namespace(stack)}.{SCOPE_PAGES_TABLE}").properties
    )
    # WHEN the tables are ensured again (a writer starting)
    tables = ensure_tables(catalog, _namespace(stack))
    # THEN every table merges manifests
    for table in (tables.resources, tables.history, tables.scope_pages):
        assert {k: table.properties.get(k) for k in MANIFEST_MERGE_PROPERTIES} == MANIFEST_MERGE_PROPERTIES


def test_manifests_of_the_current_snapshot_stay_bounded_after_many_commits(stack: Stack) -> None:
    # GIVEN a store
    store = IcebergLakeStore(load_catalog(IcebergSettings()), _namespace(stack))
    # WHEN 12 commits each append a page marker (the merge starts at 10 manifests)
    for n in range(1, 13):
        store.record_pages([AppliedPage("exec-1", scope(), n)])
    # THEN the current snapshot lists at most the merge threshold's manifests, not one per commit
    pages = load_catalog(IcebergSettings()).load_table(f"{_namespace(stack)}.{SCOPE_PAGES_TABLE}")
    snapshot = pages.current_snapshot()
    assert snapshot is not None
    manifests = snapshot.manifests(pages.io)
    assert len(manifests) <= int(MANIFEST_MERGE_PROPERTIES["commit.manifest.min-count-to-merge"])
    assert pages.scan().to_arrow().num_rows == 12  # merging lost no marker


def test_a_sweep_compacts_scope_pages_and_keeps_every_marker(stack: Stack) -> None:
    # GIVEN a store that compacts scope_pages above 3 files, and 5 pages recorded one commit each
    store = IcebergLakeStore(load_catalog(IcebergSettings()), _namespace(stack))
    for n in range(1, 6):
        store.record_pages([AppliedPage("exec-1", scope(), n)])
    # WHEN compaction runs
    assert store.compact_pages(max_files=3)
    # THEN scope_pages is one file with every marker, the progress reads the same, and a small table is left alone
    pages = load_catalog(IcebergSettings()).load_table(f"{_namespace(stack)}.{SCOPE_PAGES_TABLE}")
    assert len(pages.inspect.files()) == 1
    assert sorted(pages.scan().to_arrow().column("page").to_pylist()) == [1, 2, 3, 4, 5]
    assert store.progress([("exec-1", scope())])[("exec-1", scope().key)].pages == 5
    assert not store.compact_pages(max_files=3)


def test_sweeps_across_scans_compact_scope_pages_and_the_protocol_holds(stack: Stack) -> None:
    # GIVEN a writer, and three scans of one two-page scope (scope_pages gains files every batch)
    service = build_service(LakeWriterSettings())
    store = service._store
    assert isinstance(store, IcebergLakeStore)
    for n in range(1, 4):
        at = later(60 * n)
        ex = f"exec-{n}"
        gone = n == 3  # the last scan no longer finds resource 1
        service.apply([page([resource(0, at=at)], execution_id=ex, page_no=1, started=at)])
        service.apply(
            [
                page([resource(2, at=at)] if gone else [resource(1, at=at)], execution_id=ex, page_no=2, started=at),
                scope_completed(scope(), execution_id=ex, pages=2, count=2, started=at),
            ]
        )
        # WHEN the table holds more than 2 files at a sweep (forced by the threshold here)
        store.compact_pages(max_files=2)
    # THEN scope_pages was rewritten, and the rows are those of the scans: resource 1 missing since scan 3
    pages = load_catalog(IcebergSettings()).load_table(f"{_namespace(stack)}.{SCOPE_PAGES_TABLE}")
    assert len(pages.inspect.files()) <= 2
    assert pages.scan().to_arrow().num_rows == 3 * 4  # two pages, the parked completion and a sweep per scan
    rows = {
        r["resource_arn"]: (r["discovery_status"], r["missing_since"])
        for r in store._resources.scan().to_arrow().to_pylist()
    }
    assert rows[resource(1).resource_arn] == ("missing", later(180).replace(tzinfo=None))
    assert rows[resource(0).resource_arn] == ("active", None)
    assert rows[resource(2).resource_arn] == ("active", None)
