"""What the inventory bucket's lifecycle rules do in AWS, done on a stack that has none (the moto emulator).

In AWS the bucket's lifecycle rules (infra ``InventoryStack._inventory_lifecycle``) expire the archiver's staged
pages, claim checks and exports after their days, raw documents after the bucket spec's retention, and every
noncurrent version after its prefix's noncurrent days (the day document leaves one at each rewrite). moto keeps
every object version forever: after 5 soak scans of 10,000 resources the bucket held 642 versions (194.5 MB), and
the emulator's memory grew about 230 MB a scan. This step reads the same data as the stack
(``inventory_core.topology.BUCKET_EXPIRY_DAYS``, ``NONCURRENT_DAYS_BY_PREFIX`` and the bucket spec) and applies
the rules to every version as of a moment, optionally ``days_ahead`` in the future (the soak runs days of
lifecycle between scans minutes apart):

- a current version past its prefix's expiry gets a delete marker at ``LastModified + days`` (it becomes
  noncurrent then), and its data is removed once noncurrent for its noncurrent days;
- a noncurrent version is removed once noncurrent (since the next newer version's ``LastModified``) for its
  prefix's noncurrent days;
- a delete marker with no version left behind it is removed (``ExpiredObjectDeleteMarker``).

Days count from the moment, not from the next midnight as S3 rounds them. Unreferenced Iceberg files of the
lake are S3 Tables' job in AWS and the lake writer's snapshot expiry here, not this step's.

    inventory maintenance [--days-ahead N]
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from inventory_core.topology import BUCKET_EXPIRY_DAYS, NONCURRENT_DAYS_BY_PREFIX, BucketSpec

logger = logging.getLogger(__name__)

_DELETE_BATCH = 1000  # DeleteObjects' limit


@dataclass(frozen=True)
class LifecycleRules:
    """The bucket's expiry (current versions) and noncurrent expiry, by key prefix (the longest prefix wins)."""

    expire_days: dict[str, int]
    noncurrent_days: dict[str, int]
    default_noncurrent_days: int
    versioned: bool

    @classmethod
    def of(cls, bucket: BucketSpec) -> LifecycleRules:
        """The rules the stack declares for this bucket."""
        return cls(
            expire_days={bucket.raw_prefix: bucket.raw_expiration_days, **BUCKET_EXPIRY_DAYS},
            noncurrent_days=dict(NONCURRENT_DAYS_BY_PREFIX),
            default_noncurrent_days=bucket.noncurrent_version_expiration_days,
            versioned=bucket.versioned,
        )

    def expiry(self, key: str) -> timedelta | None:
        days = _longest_match(self.expire_days, key)
        return None if days is None else timedelta(days=days)

    def noncurrent(self, key: str) -> timedelta:
        days = _longest_match(self.noncurrent_days, key)
        return timedelta(days=self.default_noncurrent_days if days is None else days)


def _longest_match(days_by_prefix: dict[str, int], key: str) -> int | None:
    matches = [p for p in days_by_prefix if key.startswith(p)]
    return days_by_prefix[max(matches, key=len)] if matches else None


@dataclass
class MaintenanceReport:
    """What one run removed (and marked)."""

    versions_deleted: int = 0
    bytes_freed: int = 0
    markers_added: int = 0
    markers_removed: int = 0
    by_prefix: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Version:
    key: str
    version_id: str
    last_modified: datetime
    size: int
    is_marker: bool


def _versions_by_key(s3: Any, bucket: str) -> Iterator[list[_Version]]:
    """Each key's versions and delete markers, newest first."""
    by_key: dict[str, list[_Version]] = defaultdict(list)
    latest: dict[str, str] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for marker, entries in ((False, page.get("Versions", [])), (True, page.get("DeleteMarkers", []))):
            for entry in entries:
                if entry.get("IsLatest"):
                    latest[entry["Key"]] = entry.get("VersionId") or "null"
                by_key[entry["Key"]].append(
                    _Version(
                        key=entry["Key"],
                        version_id=entry.get("VersionId") or "null",
                        last_modified=entry["LastModified"],
                        size=int(entry.get("Size", 0)),
                        is_marker=marker,
                    )
                )
    for key, versions in by_key.items():
        # S3 lists a key's versions newest first, but versions and markers apart: the current one is IsLatest
        # (writes in one millisecond tie on LastModified), the others follow newest first
        ordered = sorted(versions, key=lambda v: (v.version_id != latest.get(key), -v.last_modified.timestamp()))
        yield ordered


def plan(versions: list[_Version], rules: LifecycleRules, as_of: datetime) -> tuple[list[_Version], bool]:
    """For one key's versions (newest first): the versions the rules remove by ``as_of``, and whether the
    current version only gets a delete marker (expired, but its data not yet noncurrent long enough)."""
    key = versions[0].key
    current = versions[0]
    expiry = rules.expiry(key)
    expired = not current.is_marker and expiry is not None and as_of - current.last_modified >= expiry
    if expired and not rules.versioned:
        return [current], False
    noncurrent_for = rules.noncurrent(key)
    gone: list[_Version] = []
    for i, version in enumerate(versions):
        # since when this version is not the current one: the next newer write, or (current) its expiry
        if i:
            since: datetime | None = versions[i - 1].last_modified
        else:
            since = current.last_modified + expiry if expired and expiry is not None else None
        if since is not None and as_of - since >= noncurrent_for:
            gone.append(version)
    mark = expired
    left = [v for v in versions if v not in gone]
    if mark and not left:
        mark = False  # the data is gone already: no marker to add (and none would survive the next rule)
    if left and all(v.is_marker for v in left) and len(left) == 1:
        gone.append(left[0])  # an expired object delete marker: nothing is behind it
    return gone, mark


def run_maintenance(
    s3: Any, bucket: str, rules: LifecycleRules, *, as_of: datetime | None = None, days_ahead: float = 0
) -> MaintenanceReport:
    """Apply the lifecycle rules to every version of ``bucket`` as of ``as_of`` (now) plus ``days_ahead``."""
    moment = (as_of or datetime.now(UTC)) + timedelta(days=days_ahead)
    report = MaintenanceReport()
    doomed: list[_Version] = []
    to_mark: list[str] = []
    for versions in _versions_by_key(s3, bucket):
        gone, mark = plan(versions, rules, moment)
        doomed.extend(gone)
        if mark:
            to_mark.append(versions[0].key)
    for start in range(0, len(to_mark), _DELETE_BATCH):  # a delete without a version id writes a marker
        objects = [{"Key": key} for key in to_mark[start : start + _DELETE_BATCH]]
        _delete(s3, bucket, objects)
        report.markers_added += len(objects)
    for start in range(0, len(doomed), _DELETE_BATCH):
        batch = doomed[start : start + _DELETE_BATCH]
        _delete(s3, bucket, [{"Key": v.key, "VersionId": v.version_id} for v in batch])
        for version in batch:
            if version.is_marker:
                report.markers_removed += 1
                continue
            report.versions_deleted += 1
            report.bytes_freed += version.size
            top = version.key.split("/", 1)[0] + "/"
            report.by_prefix[top] = report.by_prefix.get(top, 0) + 1
    logger.info("lifecycle maintenance", extra={"bucket": bucket, "as_of": moment.isoformat(), **report.as_dict()})
    return report


def _delete(s3: Any, bucket: str, objects: list[dict[str, str]]) -> None:
    response = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    errors = response.get("Errors", [])
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(objects)} deletes failed in {bucket}, first: {errors[0]}")
