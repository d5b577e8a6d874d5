"""Issue 15: the inventory bucket (raw/ archive) is versioned; noncurrent versions expire after the topology's days."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template
from inventory_core.topology import build_topology

TOPOLOGY = build_topology("123456789012", "us-east-1")  # the session synth's env (conftest.py)


def test_the_raw_bucket_is_versioned_with_a_noncurrent_version_expiry(template: Template) -> None:
    spec = TOPOLOGY.bucket
    assert spec.versioned and spec.noncurrent_version_expiration_days == 30
    buckets = template.find_resources("AWS::S3::Bucket", {"Properties": Match.object_like({"BucketName": spec.name})})
    ((_, bucket),) = buckets.items()
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = props["LifecycleConfiguration"]["Rules"]
    # The whole bucket's rule (raw/ included); a prefix may expire its old versions sooner (readmodel/).
    noncurrent = [r for r in rules if "NoncurrentVersionExpiration" in r and "Prefix" not in r]
    assert [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in noncurrent] == [30]
    assert all(r["Status"] == "Enabled" for r in noncurrent)
    raw = [r for r in rules if r.get("Prefix") == spec.raw_prefix]
    assert [r["ExpirationInDays"] for r in raw] == [spec.raw_expiration_days]
