"""The lake writer keeps a bounded number of Iceberg snapshots with a local catalog (S3 Tables expires its own)."""

from __future__ import annotations

import pytest
from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.duck import attach_views, connect
from inventory_lake.maintenance import referenced_files
from lake_writer.bootstrap import build_service
from lake_writer.service import LakeWriterService
from lake_writer.settings import LakeWriterSettings

from tests.builders import later, page, resource, scope, scope_completed
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


def test_each_sweep_leaves_at_most_keep_snapshots_per_table_and_the_rows_intact(stack: Stack) -> None:
    # GIVEN a lake writer keeping 4 snapshots per table, and three scans of five resources (one gone in the last)
    service = build_service(LakeWriterSettings(keep_snapshots=4))
    for n in range(1, 4):
        at = later(60 * n)
        ex = f"exec-{n}"
        resources = [resource(i, at=at, state="stopped" if n == 3 else "running") for i in range(5 if n < 3 else 4)]
        # WHEN each scan lands as two batches (a page, then the page again with its scope completion)
        service.apply([page(resources, execution_id=ex, started=at)])
        service.apply(
            [
                page(resources, execution_id=ex, started=at),
                scope_completed(scope(), execution_id=ex, count=5, started=at),
            ]
        )
    # THEN no table holds more than 4 snapshots, and the rows are those of every scan
    catalog = load_catalog(IcebergSettings())
    namespace = stack.env["ICEBERG_NAMESPACE"]
    for name in ("resources", "resource_history", "scope_pages"):
        assert 1 <= len(catalog.load_table(f"{namespace}.{name}").snapshots()) <= 4, name
    con = connect()
    attach_views(con, catalog, namespace)
    states = con.execute("SELECT discovery_status, state, count(*) FROM resources GROUP BY ALL ORDER BY 1").fetchall()
    assert states == [("active", "stopped", 4), ("missing", "running", 1)]
    assert con.execute("SELECT count(*), count(DISTINCT execution_id) FROM resource_history").fetchall() == [(14, 3)]


def _objects(stack: Stack, location: str) -> set[str]:
    bucket, prefix = location.removeprefix("s3://").split("/", 1)
    pages = stack.clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    keys = (item["Key"] for page in pages for item in page.get("Contents", []))
    return {f"s3://{bucket}/{key}" for key in keys if not key.endswith("/")}  # not the directory markers


def test_expiry_deletes_the_files_only_expired_snapshots_referenced(stack: Stack) -> None:
    # GIVEN a lake writer keeping 2 snapshots per table (no commit in flight but its own: orphans at any age),
    # and four scans of five resources that change every scan
    service = build_service(LakeWriterSettings(keep_snapshots=2, orphan_age_s=0))
    for n in range(1, 5):
        at = later(60 * n)
        ex = f"exec-{n}"
        resources = [resource(i, at=at, state=f"s{n}") for i in range(5)]
        # WHEN each scan lands as a page, then its scope completion
        service.apply([page(resources, execution_id=ex, started=at)])
        service.apply([scope_completed(scope(), execution_id=ex, count=5, started=at)])
    # THEN each table's bucket holds exactly the data files, manifests and manifest lists its snapshots need
    # (as S3 Tables' unreferenced-file removal leaves it: merged-away manifests too), plus at most the newest
    # 21 metadata files
    catalog = load_catalog(IcebergSettings())
    for name in ("resources", "resource_history", "scope_pages"):
        table = catalog.load_table(f"{stack.env['ICEBERG_NAMESPACE']}.{name}")
        stored = _objects(stack, table.location())
        metadata = {path for path in stored if path.endswith(".metadata.json")}
        assert stored - metadata == referenced_files(table, table.snapshots()), name
        assert table.metadata_location in metadata
        assert len(metadata) <= 21, name
        assert len(table.snapshots()) <= 3, name  # expiry ran on every table
    # AND the rows read back whole: the newest state of every resource and one history row per resource per scan
    con = connect()
    attach_views(con, catalog, stack.env["ICEBERG_NAMESPACE"])
    assert con.execute("SELECT state, count(*) FROM resources GROUP BY ALL").fetchall() == [("s4", 5)]
    assert con.execute("SELECT count(*), count(DISTINCT execution_id) FROM resource_history").fetchall() == [(20, 4)]


def test_a_writer_idle_while_another_expires_and_deletes_files_still_commits(stack: Stack) -> None:
    # GIVEN two writers keeping 2 snapshots per table; the first applies a page of scan 1, then stays idle
    settings = LakeWriterSettings(keep_snapshots=2, orphan_age_s=0)
    idle, busy = build_service(settings), build_service(settings)
    first = later(60)
    idle.apply([page([resource(i, at=first) for i in range(3)], execution_id="exec-1", started=first)])
    # WHEN the other writer lands scans 1-3 (its expiry deletes the files of the snapshots the idle one last saw)
    for n in range(1, 4):
        at = later(60 * n)
        batch = [page([resource(i, at=at) for i in range(3)], execution_id=f"exec-{n}", started=at)]
        busy.apply([*batch, scope_completed(scope(), execution_id=f"exec-{n}", count=3, started=at)])
    # AND the idle writer then lands scan 4 (a page, then a redelivered copy of it with its completion)
    at = later(240)
    resources = [resource(i, at=at, state="stopped") for i in range(3)]
    idle.apply([page(resources, execution_id="exec-4", started=at)])
    idle.apply(
        [
            page(resources, execution_id="exec-4", started=at),
            scope_completed(scope(), execution_id="exec-4", count=3, started=at),
        ]
    )
    # THEN its commits start from the newest snapshots: every row is there once
    con = connect()
    attach_views(con, load_catalog(IcebergSettings()), stack.env["ICEBERG_NAMESPACE"])
    assert con.execute("SELECT state, count(*) FROM resources GROUP BY ALL").fetchall() == [("stopped", 3)]
    assert con.execute("SELECT count(*), count(DISTINCT execution_id) FROM resource_history").fetchall() == [(12, 4)]


def _land_scans(service: LakeWriterService, scans: int, resources: int) -> None:
    """Each scan's page and its scope completion in one batch; the resources' state changes every scan."""
    for n in range(1, scans + 1):
        at = later(60 * n)
        ex = f"exec-{n}"
        service.apply(
            [
                page([resource(i, at=at, state=f"s{n}") for i in range(resources)], execution_id=ex, started=at),
                scope_completed(scope(), execution_id=ex, count=resources, started=at),
            ]
        )


def test_keep_snapshots_zero_keeps_every_snapshot(stack: Stack) -> None:
    # GIVEN the S3 Tables behaviour (the catalog's own maintenance expires snapshots): keep_snapshots=0
    service = build_service(LakeWriterSettings(keep_snapshots=0))
    # WHEN three scans land
    _land_scans(service, 3, 1)
    # THEN nothing is expired: each scan's commits are all there, and so are the files of the first
    table = load_catalog(IcebergSettings()).load_table(f"{stack.env['ICEBERG_NAMESPACE']}.resources")
    assert len(table.snapshots()) > 4  # more than the other test keeps
    first = min(table.snapshots(), key=lambda s: s.sequence_number)
    assert referenced_files(table, [first]) <= _objects(stack, table.location())


def test_table_maintenance_beside_writers_that_keep_everything_expires_to_keep(stack: Stack) -> None:
    import os
    import subprocess
    import sys
    import threading

    from inventory_cli.lake_maintenance import maintain
    from lake_writer.adapters.iceberg_store import IcebergLakeStore

    # GIVEN writers that keep every snapshot (as with S3 Tables), after four scans
    service = build_service(LakeWriterSettings(keep_snapshots=0))
    _land_scans(service, 4, 3)
    catalog = load_catalog(IcebergSettings())
    namespace = stack.env["ICEBERG_NAMESPACE"]
    names = ("resources", "resource_history", "scope_pages")
    assert all(len(catalog.load_table(f"{namespace}.{n}").snapshots()) >= 4 for n in names)

    # WHEN the maintenance rounds run beside them (the loop: a round that fails does not end it)
    class Flaky:
        def __init__(self, store: IcebergLakeStore, stop: threading.Event) -> None:
            self.calls, self._store, self._stop = 0, store, stop

        def expire_snapshots(self) -> int:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("the emulator is restarting")
            self._stop.set()
            return self._store.expire_snapshots()

    stop = threading.Event()
    flaky = Flaky(IcebergLakeStore(catalog, namespace, keep_snapshots=2), stop)
    assert maintain(stop, flaky, 0.01) == 2 and flaky.calls == 2

    # THEN every table keeps at most 2 + 1 snapshots (expiry runs once a table holds half of keep more), the rows
    # are intact
    for name in names:
        assert 1 <= len(catalog.load_table(f"{namespace}.{name}").snapshots()) <= 3, name
    con = connect()
    attach_views(con, catalog, namespace)
    assert con.execute("SELECT state, count(*) FROM resources GROUP BY ALL").fetchall() == [("s4", 3)]

    # AND the command refuses bad arguments with a clear message
    refused = subprocess.run(
        [sys.executable, "-m", "inventory_cli.lake_maintenance", "--every", "0"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert refused.returncode == 2 and "--every must be above 0" in refused.stderr
