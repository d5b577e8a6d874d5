"""The raw bucket is versioned with a noncurrent expiry, and moto's S3 refuses a stale conditional write."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from archiver.adapters.s3_store import S3ObjectStore
from archiver.ports import TaggedDocument, WriteConflictError
from archiver.service import ArchiverService, raw_key
from inventory_cli.summary import raw_counts
from inventory_events import AccountScanCompleted, ResourcesDiscovered, Scope, ScopeSummary

from tests.builders import T0, resource
from tests.conftest import Stack

pytestmark = pytest.mark.emulator
A = "111111111111"


def test_the_inventory_bucket_keeps_noncurrent_versions_for_the_topology_days(stack: Stack) -> None:
    s3, bucket = stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"]
    assert stack.topology.bucket.noncurrent_version_expiration_days == 30
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["expire-noncurrent-versions"]["Filter"] == {"Prefix": ""}
    assert rules["expire-raw"]["Expiration"] == {"Days": 365}
    # an overwritten day's document is still there as a noncurrent version
    store = S3ObjectStore(s3, bucket)
    store.put_json("raw/year=2026/month=11/day=25/x/inventory.json", {"v": 1})
    store.put_json("raw/year=2026/month=11/day=25/x/inventory.json", {"v": 2})
    versions = s3.list_object_versions(Bucket=bucket, Prefix="raw/year=2026/month=11/day=25/x/")["Versions"]
    bodies = [
        json.loads(s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read())
        for v in versions
    ]
    assert sorted(b["v"] for b in bodies) == [1, 2]


def test_moto_s3_enforces_if_match_and_if_none_match_on_put_object(stack: Stack) -> None:
    store = S3ObjectStore(stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"], backoff_s=0)
    key = "raw/conditional-test.json"
    store.put_json_if(key, {"v": 1}, etag=None)  # If-None-Match: * creates
    with pytest.raises(WriteConflictError):
        store.put_json_if(key, {"v": 9}, etag=None)  # ... but never overwrites
    first = store.get_tagged(key)
    assert first is not None and first.document == {"v": 1}
    store.put_json_if(key, {"v": 2}, etag=first.etag)  # If-Match on the current ETag replaces
    with pytest.raises(WriteConflictError):
        store.put_json_if(key, {"v": 3}, etag=first.etag)  # a stale ETag is refused (412)
    with pytest.raises(WriteConflictError):
        store.put_json_if("raw/never-written.json", {"v": 1}, etag=first.etag)  # If-Match on a missing key (404)
    assert store.get_json(key) == {"v": 2}


def stage_and_complete(
    service: ArchiverService, execution_id: str, region: str, resource_type: str, n: int
) -> AccountScanCompleted:
    sc = Scope(account_id=A, region=region, resource_type=resource_type)
    items = [resource(n, region=region, resource_type=resource_type)]
    started = T0 + timedelta(minutes=n)
    service.handle(
        ResourcesDiscovered(execution_id=execution_id, scope=sc, page=1, scan_started_at=started, resources=items)
    )
    return AccountScanCompleted(
        execution_id=execution_id,
        account_id=A,
        status="success",
        resource_count=1,
        duration_ms=1,
        scan_started_at=started,
        scopes=[ScopeSummary(scope=sc, status="complete", resource_count=1, page_count=1)],
    )


class Interleaved(S3ObjectStore):
    """The real S3 store, forced into the worst interleaving: both writers read the day's document before
    either writes, then writer 0 writes before writer 1. (moto checks If-Match before it stores, not
    atomically with it, so two truly simultaneous PUTs could both pass on the emulator; S3 itself
    arbitrates them. The fixed order makes the race deterministic here.)"""

    def __init__(self, s3: Any, bucket: str, barrier: threading.Barrier, turn: list[threading.Event], me: int) -> None:
        super().__init__(s3, bucket, backoff_s=0)
        self._barrier, self._turn, self._me = barrier, turn, me
        self._first_read = self._first_write = True
        self.conflicts = 0

    def get_tagged(self, key: str) -> TaggedDocument | None:
        tagged = super().get_tagged(key)
        if self._first_read and key.startswith("raw/"):  # the day's document, not a page's parked-completion check
            self._first_read = False
            self._barrier.wait(timeout=30)
        return tagged

    def put_json_if(self, key: str, document: Any, *, etag: str | None) -> None:
        first, self._first_write = self._first_write, False
        if first and self._me > 0:
            assert self._turn[self._me - 1].wait(timeout=30)
        try:
            super().put_json_if(key, document, etag=etag)
        except WriteConflictError:
            self.conflicts += 1
            raise
        finally:
            if first:
                self._turn[self._me].set()


def test_two_assemblers_at_once_keep_both_scans_scopes(stack: Stack) -> None:
    # GIVEN the day's document of a first scan, and two scans of other scopes finishing at the same moment
    s3, bucket = stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"]
    first = ArchiverService(S3ObjectStore(s3, bucket))
    first.handle(stage_and_complete(first, "scan-0", "eu-west-1", "vpc", 1))
    barrier, turn = threading.Barrier(2), [threading.Event(), threading.Event()]
    stores = [Interleaved(stack.clients.client("s3"), bucket, barrier, turn, i) for i in range(2)]
    writers = [ArchiverService(store, conflict_backoff_s=0.01) for store in stores]
    done = [
        stage_and_complete(writers[0], "scan-a", "us-east-1", "ec2", 2),
        stage_and_complete(writers[1], "scan-b", "us-west-2", "lambda", 3),
    ]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            writers[i].handle(done[i])
        except BaseException as exc:
            errors.append(exc)

    # WHEN both assemble at once, each having read the same version of the document
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # THEN the second writer lost its conditional write, merged again, and every scan's scope is in the document
    assert errors == []
    assert [s.conflicts for s in stores] == [0, 1]
    doc = json.loads(s3.get_object(Bucket=bucket, Key=raw_key(done[0]))["Body"].read())
    assert {(s["region"], s["resourceType"], s["executionId"]) for s in doc["scopes"]} == {
        ("eu-west-1", "vpc", "scan-0"),
        ("us-east-1", "ec2", "scan-a"),
        ("us-west-2", "lambda", "scan-b"),
    }
    assert {r: sorted(by_type) for r, by_type in doc["regions"].items()} == {
        "eu-west-1": ["vpc"],
        "us-east-1": ["ec2"],
        "us-west-2": ["lambda"],
    }


def test_local_status_counts_the_newest_day_of_each_account(stack: Stack) -> None:
    s3, bucket = stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"]
    store = S3ObjectStore(s3, bucket)

    def doc(by_type: dict[str, int]) -> dict[str, Any]:
        return {"regions": {"us-east-1": {t: [{"Id": i} for i in range(n)] for t, n in by_type.items()}}}

    store.put_json("raw/year=2026/month=11/day=09/111111111111/inventory.json", doc({"ec2": 9, "s3": 9}))
    store.put_json("raw/year=2026/month=11/day=10/111111111111/inventory.json", doc({"ec2": 2}))
    store.put_json("raw/year=2025/month=12/day=31/222222222222/inventory.json", doc({"ec2": 1, "vpc": 3}))
    store.put_json("raw/unrelated.json", doc({"ec2": 100}))
    assert raw_counts(stack.clients, bucket) == ({"ec2": 3, "vpc": 3}, 2)
