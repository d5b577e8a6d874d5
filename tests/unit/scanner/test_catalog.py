from __future__ import annotations

import pytest
from inventory_events import GLOBAL_REGION
from scanner.catalog import (
    CATALOG,
    InvalidResourceError,
    ScopeContext,
    normalize_ec2_instance,
    normalize_s3_bucket,
    normalize_vpc,
    scope_regions,
    spec_by_slug,
    tag_map,
)
from scanner.service import paginate_resources

from tests.builders import T0, resource

CTX = ScopeContext(account_id="111111111111", region="eu-west-1", discovered_at=T0)


def test_ec2_instance_gets_arn_name_state_tags_and_metadata() -> None:
    r = normalize_ec2_instance(
        {
            "InstanceId": "i-0abc",
            "State": {"Name": "stopped", "Code": 80},
            "InstanceType": "t3.micro",
            "Tags": [{"Key": "Name", "Value": "web-01"}, {"Key": "team", "Value": "core"}],
            "SecurityGroups": [{"GroupId": "sg-1"}],
        },
        CTX,
    )
    assert r.resource_arn == "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc"
    assert (r.name, r.state, r.region, r.resource_type) == ("web-01", "stopped", "eu-west-1", "ec2")
    assert r.tags == {"Name": "web-01", "team": "core"}
    assert r.metadata == {"InstanceType": "t3.micro"}  # lists are not flattened into metadata
    assert r.raw["SecurityGroups"] == [{"GroupId": "sg-1"}]


def test_name_falls_back_to_the_natural_identifier() -> None:
    assert normalize_ec2_instance({"InstanceId": "i-1", "State": {"Name": "running"}}, CTX).name == "i-1"


def test_bucket_is_global_with_its_own_region_and_a_built_arn() -> None:
    r = normalize_s3_bucket({"Name": "logs", "BucketRegion": "ap-south-1", "Tags": []}, CTX)
    assert (r.resource_arn, r.region, r.resource_id) == ("arn:aws:s3:::logs", "ap-south-1", "logs")
    assert spec_by_slug("s3").is_global
    assert scope_regions(spec_by_slug("s3"), ["us-east-1", "eu-west-1"]) == [GLOBAL_REGION]
    assert scope_regions(spec_by_slug("ec2"), ["us-east-1", "eu-west-1"]) == ["us-east-1", "eu-west-1"]


def test_vpc_arn_is_built() -> None:
    r = normalize_vpc({"VpcId": "vpc-9", "State": "available", "IsDefault": True}, CTX)
    assert r.resource_arn == "arn:aws:ec2:eu-west-1:111111111111:vpc/vpc-9"
    assert r.metadata["IsDefault"] == "True"


def test_item_without_identifier_is_invalid() -> None:
    with pytest.raises(InvalidResourceError, match="InstanceId"):
        normalize_ec2_instance({"State": {"Name": "running"}}, CTX)


def test_tags_in_any_shape_become_a_string_map() -> None:
    assert tag_map([{"key": "a", "value": None}]) == {"a": ""}
    assert tag_map({"x": 1}) == {"x": "1"}
    assert tag_map(None) == {}


def test_every_catalogue_entry_has_a_cloudformation_type() -> None:
    assert all(spec.cfn_type.startswith("AWS::") for spec in CATALOG)
    assert len({spec.slug for spec in CATALOG}) == len(CATALOG)


def test_pages_stay_under_the_byte_and_item_limits() -> None:
    resources = [resource(i) for i in range(50)]
    one = len(resources[0].model_dump_json()) + 1
    pages = list(paginate_resources(resources, max_bytes=one * 7, max_items=5))
    assert [len(p) for p in pages] == [5] * 10
    pages = list(paginate_resources(resources, max_bytes=one * 3, max_items=500))
    assert all(len(p) <= 3 for p in pages)
    assert sum(len(p) for p in pages) == 50


def test_a_resource_too_large_for_a_message_is_skipped() -> None:
    small, huge = resource(1), resource(2).model_copy(update={"raw": {"blob": "x" * 5000}})
    pages = list(paginate_resources([small, huge], max_bytes=2000, max_items=10))
    assert pages == [[small]]
