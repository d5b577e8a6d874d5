"""Synth-only tests of the inventory stack: the template must say what the shared topology declares."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from infra.policies import SCANNER_TABLE_ACTIONS
from infra.stacks.inventory_stack import InventoryStack
from inventory_core.topology import Topology, build_topology

ACCOUNT = "123456789012"  # the session synth's env (conftest.py)
REGION = "us-east-1"
SCANNER_ROLE = {"Description": Match.string_like_regexp("^Scanner Fargate task")}


@pytest.fixture(scope="module")
def topology() -> Topology:
    return build_topology(ACCOUNT, REGION)


def _resources(template: Template, type_: str, props: Any = None) -> dict[str, Any]:
    return dict(template.find_resources(type_, {"Properties": props} if props is not None else None))


def _logical_id(template: Template, type_: str, props: dict[str, Any]) -> str:
    found = _resources(template, type_, Match.object_like(props))
    assert len(found) == 1, f"expected one {type_} with {props}, found {sorted(found)}"
    return next(iter(found))


def _render(value: Any) -> Any:
    """Flatten ``Fn::Join`` with ``AWS::Partition`` into a plain string so ARNs can be compared."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] == "AWS::Partition":
        return "aws"
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        rendered = [_render(p) for p in parts]
        if all(isinstance(p, str) for p in rendered):
            return sep.join(rendered)
    return value


def _role_statements(template: Template, role_props: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = _logical_id(template, "AWS::IAM::Role", role_props)
    policies = _resources(template, "AWS::IAM::Policy", Match.object_like({"Roles": [{"Ref": role_id}]}))
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_app_table_has_string_keys_all_projection_gsis_and_ttl(template: Template, topology: Topology) -> None:
    spec = topology.table
    key_names = [spec.pk, spec.sk, *(k for g in spec.gsis for k in (g.pk, g.sk))]
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": spec.name,
            "KeySchema": [
                {"AttributeName": spec.pk, "KeyType": "HASH"},
                {"AttributeName": spec.sk, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in key_names],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": g.name,
                    "KeySchema": [
                        {"AttributeName": g.pk, "KeyType": "HASH"},
                        {"AttributeName": g.sk, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for g in spec.gsis
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": spec.ttl_attribute, "Enabled": True},
        },
    )


def test_tables_are_encrypted_point_in_time_recoverable_and_retained(template: Template, topology: Topology) -> None:
    for spec in (topology.table, topology.audit_table):
        found = template.find_resources(
            "AWS::DynamoDB::Table",
            {
                "Properties": {
                    "TableName": spec.name,
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                },
                "DeletionPolicy": "Retain",
            },
        )
        assert len(found) == 1, spec.name


def test_audit_table_has_string_keys_and_no_indexes_or_ttl(template: Template, topology: Topology) -> None:
    spec = topology.audit_table
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": spec.name,
            "KeySchema": [
                {"AttributeName": spec.pk, "KeyType": "HASH"},
                {"AttributeName": spec.sk, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": Match.absent(),
            "TimeToLiveSpecification": Match.absent(),
        },
    )


def test_every_queue_redrives_to_its_encrypted_dlq_after_max_receive_count(
    template: Template, topology: Topology
) -> None:
    assert len(topology.queues) == 4
    template.resource_count_is("AWS::SQS::Queue", 2 * len(topology.queues))
    for spec in topology.queues:
        assert spec.max_receive_count == 5
        dlq_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": spec.dlq_name, "SqsManagedSseEnabled": True})
        template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": spec.name,
                "SqsManagedSseEnabled": True,
                "VisibilityTimeout": spec.visibility_timeout_s,
                "ReceiveMessageWaitTimeSeconds": spec.receive_wait_s,
                "MessageRetentionPeriod": spec.retention_s,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                    "maxReceiveCount": spec.max_receive_count,
                },
            },
        )


def test_queues_and_topic_deny_requests_without_tls(template: Template, topology: Topology) -> None:
    deny_insecure = Match.object_like(
        {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    for spec in topology.queues:
        for name in (spec.name, spec.dlq_name):
            queue_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": name})
            template.has_resource_properties(
                "AWS::SQS::QueuePolicy",
                {
                    "Queues": [{"Ref": queue_id}],
                    "PolicyDocument": {"Statement": Match.array_with([deny_insecure])},
                },
            )
    topic_id = _logical_id(template, "AWS::SNS::Topic", {"TopicName": topology.topic_name})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {"Topics": [{"Ref": topic_id}], "PolicyDocument": {"Statement": Match.array_with([deny_insecure])}},
    )


def test_consumer_queues_subscribe_raw_with_the_topology_filter_policy(template: Template, topology: Topology) -> None:
    topic_id = _logical_id(template, "AWS::SNS::Topic", {"TopicName": topology.topic_name})
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    assert len(subscriptions) == len(topology.consumers) == 3
    for spec in topology.consumers:
        queue_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": spec.name})
        template.has_resource_properties(
            "AWS::SNS::Subscription",
            {
                "Protocol": "sqs",
                "TopicArn": {"Ref": topic_id},
                "Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]},
                "RawMessageDelivery": True,
                "FilterPolicy": spec.filter_policy(),
                "FilterPolicyScope": Match.absent(),  # absent = MessageAttributes, where event_type travels
            },
        )


def test_only_the_topic_may_send_to_a_consumer_queue(template: Template, topology: Topology) -> None:
    topic_id = _logical_id(template, "AWS::SNS::Topic", {"TopicName": topology.topic_name})
    for spec in topology.consumers:
        queue_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": spec.name})
        template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Action": "sqs:SendMessage",
                                    "Effect": "Allow",
                                    "Principal": {"Service": "sns.amazonaws.com"},
                                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_scan_requests_queue_is_not_subscribed_to_the_topic(template: Template, topology: Topology) -> None:
    queue_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": topology.scan_requests.name})
    found = template.find_resources(
        "AWS::SNS::Subscription", {"Properties": {"Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    )
    assert found == {}


def test_buckets_use_sse_s3_and_block_public_access(template: Template, topology: Topology) -> None:
    for name in (topology.bucket.name, topology.lake_bucket):
        template.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "BucketName": name,
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
            },
        )


def test_raw_objects_expire_after_the_topology_retention(template: Template, topology: Topology) -> None:
    assert topology.bucket.raw_expiration_days == 365
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": topology.bucket.name,
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        {
                            "Id": Match.any_value(),
                            "Prefix": topology.bucket.raw_prefix,
                            "ExpirationInDays": topology.bucket.raw_expiration_days,
                            "Status": "Enabled",
                        }
                    ]
                )
            },
        },
    )


def test_scanner_may_assume_only_nucleus_access_roles(template: Template, topology: Topology) -> None:
    assert topology.role_name_pattern == "NucleusAccess-*"
    statements = _role_statements(template, SCANNER_ROLE)
    assume = [s for s in statements if any(a.startswith("sts:") for a in _actions(s))]
    assert len(assume) == 1
    assert _actions(assume[0]) == ["sts:AssumeRole"]
    assert _render(assume[0]["Resource"]) == f"arn:aws:iam::*:role/{topology.role_name_pattern}"
    assert assume[0]["Effect"] == "Allow"


def test_scanner_publishes_events_consumes_scan_requests_and_only_reads_the_table(
    template: Template, topology: Topology
) -> None:
    statements = _role_statements(template, SCANNER_ROLE)
    topic_id = _logical_id(template, "AWS::SNS::Topic", {"TopicName": topology.topic_name})
    queue_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": topology.scan_requests.name})
    by_service: dict[str, list[tuple[str, Any]]] = {}
    for s in statements:
        for action in _actions(s):
            by_service.setdefault(action.split(":")[0], []).append((action, s["Resource"]))
    assert by_service["sns"] == [("sns:Publish", {"Ref": topic_id})]
    sqs_actions = {a for a, r in by_service["sqs"] if r == {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= sqs_actions
    assert len(sqs_actions) == len(by_service["sqs"])  # nothing on any other queue
    assert {a for a, _ in by_service["dynamodb"]} == set(SCANNER_TABLE_ACTIONS)
    bucket_id = _logical_id(template, "AWS::S3::Bucket", {"BucketName": topology.bucket.name})
    claims = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/claims/*"]]}
    assert by_service["s3"] == [("s3:PutObject", claims)]
    assert set(by_service) == {"sts", "sns", "sqs", "dynamodb", "s3", "ecs", "iam"}  # ecs + iam: shard tasks


def test_archiver_puts_staging_and_raw_and_reads_claims(template: Template, topology: Topology) -> None:
    bucket_id = _logical_id(template, "AWS::S3::Bucket", {"BucketName": topology.bucket.name})
    statements = _role_statements(template, {"Description": Match.string_like_regexp("archiver")})
    bucket_arn = {"Fn::GetAtt": [bucket_id, "Arn"]}

    def keys(*prefixes: str) -> Any:
        found = [{"Fn::Join": ["", [bucket_arn, f"/{p}*"]]} for p in prefixes]
        return found[0] if len(found) == 1 else found

    raw = topology.bucket.raw_prefix
    s3 = {a: s["Resource"] for s in statements for a in _actions(s) if a.startswith("s3:")}
    assert s3 == {
        "s3:PutObject": keys("staging/", raw),
        "s3:GetObject": keys("staging/", "claims/", raw),
        "s3:ListBucket": bucket_arn,
    }
    listing = next(s for s in statements if _actions(s) == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["staging/*", "claims/*", f"{raw}*"]}}


def test_lake_writer_writes_the_table_bucket_only(template: Template) -> None:
    table_bucket_id = next(iter(template.find_resources("AWS::S3Tables::TableBucket")))
    statements = _role_statements(template, {"Description": Match.string_like_regexp("lake-writer")})
    assert not [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    tables = [s for s in statements if any(a.startswith("s3tables:") for a in _actions(s))]
    assert len(tables) == 1
    arn = {"Fn::GetAtt": [table_bucket_id, "TableBucketARN"]}
    assert tables[0]["Resource"] == [arn, {"Fn::Join": ["", [arn, "/table/*"]]}]
    assert "s3tables:*" not in _actions(tables[0])


def test_projector_writes_the_app_table_and_nothing_else(template: Template, topology: Topology) -> None:
    table_id = _logical_id(template, "AWS::DynamoDB::Table", {"TableName": topology.table.name})
    statements = _role_statements(template, {"Description": Match.string_like_regexp("ddb-projector")})
    ddb = [s for s in statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert len(ddb) == 1
    arn = {"Fn::GetAtt": [table_id, "Arn"]}
    assert ddb[0]["Resource"] == [arn, {"Fn::Join": ["", [arn, "/index/*"]]}]
    assert {"dynamodb:UpdateItem", "dynamodb:Query"} <= set(_actions(ddb[0]))
    assert not any(a.startswith("sns") for s in statements for a in _actions(s))
    s3 = [str(s) for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    assert all("readmodel/" in s for s in s3), s3  # only the grid snapshot's keys or prefix (issue 16)


@pytest.mark.parametrize("purpose", ["ddb-projector", "lake-writer", "archiver"])
def test_each_consumer_role_consumes_only_its_own_queue(template: Template, topology: Topology, purpose: str) -> None:
    queue_id = _logical_id(template, "AWS::SQS::Queue", {"QueueName": topology.consumer(purpose).name})
    statements = _role_statements(template, {"Description": Match.string_like_regexp(purpose)})
    sqs = [s for s in statements if any(a.startswith("sqs:") for a in _actions(s))]
    assert [s["Resource"] for s in sqs] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= set(_actions(sqs[0]))


def test_stack_refuses_an_environment_agnostic_synth() -> None:
    with pytest.raises(ValueError, match="concrete env"):
        InventoryStack(cdk.App(), "Agnostic")
