"""Every service role's policy statements: what each service's code calls, scoped to the stack's resources.

The stack creates the roles (trust, names) and calls one ``grant_*`` function per role. The statements
are proven against the running code on the emulator with IAM enforcement on
(``tests/integration/iam/``): each service's real code path runs under its role, and a call outside the
policy is denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from inventory_core.topology import Topology


@dataclass(frozen=True)
class StackRefs:
    """The stack's resources the policies are scoped to."""

    topology: Topology
    partition: str
    table: dynamodb.ITable
    audit_table: dynamodb.ITable
    topic: sns.ITopic
    scan_requests: sqs.IQueue
    consumer_queues: Mapping[str, sqs.IQueue]
    bucket: s3.IBucket
    lake_bucket: s3.IBucket
    table_bucket_arn: str


PROJECTOR_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)
"""The projector upserts resources and accounts with conditional writes and sweeps scopes by query."""

SCANNER_TABLE_ACTIONS = ("dynamodb:Query", "dynamodb:GetItem")
"""The scanner reads the account registry."""

ARCHIVER_RAW_ACTIONS = ("s3:PutObject", "s3:GetObject")

LAKE_WRITER_TABLE_BUCKET_ACTIONS = (
    "s3tables:GetTableBucket",
    "s3tables:ListNamespaces",
    "s3tables:GetNamespace",
    "s3tables:CreateNamespace",
    "s3tables:ListTables",
    "s3tables:GetTable",
    "s3tables:CreateTable",
    "s3tables:GetTableMetadataLocation",
    "s3tables:UpdateTableMetadataLocation",
    "s3tables:GetTableData",
    "s3tables:PutTableData",
)
"""What an Iceberg writer needs on an S3 Tables bucket: catalog calls plus table data I/O (no deletes)."""


def _table_statement(refs: StackRefs, actions: tuple[str, ...]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=list(actions), resources=[refs.table.table_arn, f"{refs.table.table_arn}/index/*"]
    )


def grant_scanner(refs: StackRefs, role: iam.IRole) -> None:
    """The scanner task: assume NucleusAccess-* roles, read the registry, publish events, take scan requests."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sts:AssumeRole"],
            resources=[f"arn:{refs.partition}:iam::*:role/{refs.topology.role_name_pattern}"],
        )
    )
    refs.topic.grant_publish(role)
    refs.scan_requests.grant_consume_messages(role)
    role.add_to_principal_policy(_table_statement(refs, SCANNER_TABLE_ACTIONS))


def grant_projector(refs: StackRefs, role: iam.IRole) -> None:
    """The DynamoDB projector function: its queue and the app table."""
    refs.consumer_queues["ddb-projector"].grant_consume_messages(role)
    role.add_to_principal_policy(_table_statement(refs, PROJECTOR_TABLE_ACTIONS))


def grant_lake_writer(refs: StackRefs, role: iam.IRole) -> None:
    """The lake writer function: its queue, the lake bucket and the S3 Tables bucket."""
    refs.consumer_queues["lake-writer"].grant_consume_messages(role)
    refs.lake_bucket.grant_read_write(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(LAKE_WRITER_TABLE_BUCKET_ACTIONS),
            resources=[refs.table_bucket_arn, f"{refs.table_bucket_arn}/table/*"],
        )
    )


def grant_archiver(refs: StackRefs, role: iam.IRole) -> None:
    """The archiver function: its queue and the raw/ keys of the inventory bucket."""
    refs.consumer_queues["archiver"].grant_consume_messages(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(ARCHIVER_RAW_ACTIONS),
            resources=[refs.bucket.arn_for_objects(f"{refs.topology.bucket.raw_prefix}*")],
        )
    )


def grant_api(refs: StackRefs, role: iam.IRole) -> None:
    """The query API: table reads (placeholder until the API's calls are listed)."""
    role.add_to_principal_policy(_table_statement(refs, ("dynamodb:GetItem", "dynamodb:Query")))
