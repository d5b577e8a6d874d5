"""The local lifecycle step (inventory_cli.maintenance) removes what the stack's lifecycle rules would, on moto."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from inventory_cli.maintenance import LifecycleRules, run_maintenance
from inventory_core.topology import BucketSpec


def _versions(s3: Any, bucket: str) -> dict[str, tuple[str, int]]:
    """key -> (what is current: 'v' an object version, 'm' a delete marker; how many versions and markers)."""
    page = s3.list_object_versions(Bucket=bucket)
    out: dict[str, tuple[str, int]] = {}
    for kind, entries in (("v", page.get("Versions", [])), ("m", page.get("DeleteMarkers", []))):
        for entry in entries:
            current, count = out.get(entry["Key"], ("", 0))
            out[entry["Key"]] = (kind if entry["IsLatest"] else current, count + 1)
    return out


def test_lifecycle_rules_applied_days_ahead(moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"maint-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    raw = "raw/year=2026/month=11/day=30/111111111111/inventory.json"
    for n in range(3):  # the day document, rewritten by each merge: two noncurrent versions
        s3.put_object(Bucket=bucket, Key=raw, Body=b"x" * (n + 1))
    s3.put_object(Bucket=bucket, Key="staging/e1/111111111111/us-east-1/ec2/page-00001.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="claims/e1/a.json", Body=b"{}")
    for _ in range(2):
        s3.put_object(Bucket=bucket, Key="readmodel/grid.json", Body=b"[]")
    s3.put_object(Bucket=bucket, Key="exports/gone.xlsx", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="exports/gone.xlsx")  # a marker over one version
    rules = LifecycleRules.of(BucketSpec(name=bucket))

    today = run_maintenance(s3, bucket, rules)
    assert today.versions_deleted == today.markers_added == today.markers_removed == 0

    # two days on: the grid's old version (1 noncurrent day) goes; nothing else is due
    soon = run_maintenance(s3, bucket, rules, days_ahead=2)
    assert (soon.versions_deleted, soon.by_prefix, soon.markers_added) == (1, {"readmodel/": 1}, 0)

    # eight days on: staged pages expire (a marker over them: their data waits 30 noncurrent days)
    week = run_maintenance(s3, bucket, rules, days_ahead=8)
    assert week.markers_added == 1 and week.versions_deleted == 0
    assert _versions(s3, bucket)["staging/e1/111111111111/us-east-1/ec2/page-00001.json"] == ("m", 2)

    # forty days on: every noncurrent version and lone marker is gone; the current raw document and grid stay
    later = run_maintenance(s3, bucket, rules, days_ahead=40)
    assert later.by_prefix == {"raw/": 2, "staging/": 1, "exports/": 1}
    assert later.markers_removed == 2  # the staged page's and the export's, once nothing is behind them
    assert later.markers_added == 1  # the claim check (21 days; its data waits 30 noncurrent days more)
    left = _versions(s3, bucket)
    assert left == {raw: ("v", 1), "readmodel/grid.json": ("v", 1), "claims/e1/a.json": ("m", 2)}
    assert s3.get_object(Bucket=bucket, Key=raw)["Body"].read() == b"xxx"  # the newest document
