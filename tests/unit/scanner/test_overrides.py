"""Hand-written types are overrides of their generated entry; full specs only where the data has none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scanner.catalog import HAND_WRITTEN, ScopeContext, spec_by_slug, tagging_filters
from scanner.catalog import overrides as ov
from scanner.catalog.generated import load_data

CTX = ScopeContext(account_id="111111111111", region="eu-west-1", discovered_at=datetime(2026, 1, 1, tzinfo=UTC))
GENERATED_TYPES = {str(e["cfn_type"]) for e in load_data()["types"]}
ENTRIES = ov.TRD_CATALOG + ov.EXTENDED_CATALOG


def test_every_hand_written_type_overrides_its_generated_entry_unless_the_data_lacks_it() -> None:
    full = sorted(e.cfn_type for e in ENTRIES if not isinstance(e, ov.Override))
    assert full == [
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGatewayV2::Api",
        "AWS::Cognito::UserPool",
        "AWS::EC2::EIP",
        "AWS::IAM::ManagedPolicy",
        "AWS::OpenSearchService::Domain",
        "AWS::S3::Bucket",
    ]
    assert not GENERATED_TYPES & set(full)  # a type the data lists is never written out in full again
    overrides = [e for e in ENTRIES if isinstance(e, ov.Override)]
    assert len(overrides) == 52 and all(o.cfn_type in GENERATED_TYPES for o in overrides)
    # small: a slug and a handful of changes each, the call, result key and ARN format come from the data
    assert max(len(o.entry) + len(o.entry.get("paths", {})) + len(o.spec) for o in overrides) <= 8
    assert [s.slug for s in HAND_WRITTEN] == [e.slug for e in ENTRIES]


def test_an_override_keeps_the_data_it_does_not_change() -> None:
    subnet = spec_by_slug("subnet")
    entry = next(e for e in load_data()["types"] if e["cfn_type"] == "AWS::EC2::Subnet")
    assert (subnet.function, subnet.result_key, subnet.permissions) == (
        entry["operation"],
        entry["result_key"],
        tuple(entry["list_permissions"]),
    )
    assert subnet.page_size == 1000 and not subnet.generated and subnet.emulator
    r = subnet.normalize({"SubnetId": "subnet-1", "State": "available", "Tags": [{"Key": "Name", "Value": "a"}]}, CTX)
    assert (r.resource_arn, r.name, r.state) == ("arn:aws:ec2:eu-west-1:111111111111:subnet/subnet-1", "a", "available")


@pytest.mark.parametrize(
    ("slug", "item", "arn", "name", "state"),
    [
        # Route 53 answers Id as /hostedzone/Z1
        (
            "route53-zone",
            {"Id": "/hostedzone/Z1", "Name": "a.example."},
            "arn:aws:route53:::hostedzone/Z1",
            "a.example.",
            "available",
        ),
        # the data's id is KeyName; the ARN names the key pair id
        (
            "key-pair",
            {"KeyPairId": "key-1", "KeyName": "deploy"},
            "arn:aws:ec2:eu-west-1:111111111111:key-pair/key-1",
            "deploy",
            "",
        ),
        # IAM's {ParameterNameWithoutLeadingSlash}: no double slash
        (
            "ssm-parameter",
            {"Name": "/app/db"},
            "arn:aws:ssm:eu-west-1:111111111111:parameter/app/db",
            "/app/db",
            "available",
        ),
        (
            "eventbridge-bus",
            {"Name": "default", "Arn": "arn:aws:events:eu-west-1:1:event-bus/default"},
            "arn:aws:events:eu-west-1:1:event-bus/default",
            "default",
            "available",
        ),
        (
            "cloudwatch-alarm",
            {"AlarmName": "a", "AlarmArn": "arn:aws:cloudwatch:x:1:alarm:a", "StateValue": "OK"},
            "arn:aws:cloudwatch:x:1:alarm:a",
            "a",
            "OK",
        ),
        (
            "ecs-cluster",
            {"clusterName": "c", "clusterArn": "arn:aws:ecs:x:1:cluster/c", "status": "ACTIVE"},
            "arn:aws:ecs:x:1:cluster/c",
            "c",
            "ACTIVE",
        ),
    ],
)
def test_overrides_fix_what_the_data_gets_wrong(
    slug: str, item: dict[str, str], arn: str, name: str, state: str
) -> None:
    r = spec_by_slug(slug).normalize(item, CTX)
    assert (r.resource_arn, r.name, r.state) == (arn, name, state)


def test_overrides_that_change_the_call_change_its_permission_and_tags() -> None:
    stack = spec_by_slug("cloudformation-stack")
    assert (stack.function, stack.result_key, stack.permissions) == (
        "describe_stacks",
        "Stacks",
        ("cloudformation:DescribeStacks",),
    )
    assert stack.tagging == "inline"  # DescribeStacks carries Tags
    assert spec_by_slug("eventbridge-bus").service == "events"
    efs = spec_by_slug("efs-filesystem").normalize(
        {
            "FileSystemId": "fs-1",
            "FileSystemArn": "arn:aws:elasticfilesystem:x:1:file-system/fs-1",
            "LifeCycleState": "available",
            "SizeInBytes": {"Value": 6144},
        },
        CTX,
    )
    assert efs.state == "available" and efs.metadata["SizeInBytes.Value"] == "6144"


def test_hand_written_tag_sources() -> None:
    assert {s.slug for s in HAND_WRITTEN if s.tagging == "api"} >= {
        "lambda",
        "dynamodb",
        "s3",
        "elbv2",
        "glue-database",
    }
    assert spec_by_slug("ecs").tagging == "inline"  # described with include=TAGS
    assert spec_by_slug("iam-group").tagging == "none"  # IAM groups cannot be tagged
    assert tagging_filters([spec_by_slug("opensearch-domain"), spec_by_slug("s3")]) == ("es", "s3")
