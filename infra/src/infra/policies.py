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
from inventory_core.grid import SNAPSHOT_KEY
from inventory_core.topology import Topology

READMODEL_PREFIX = SNAPSHOT_KEY.rsplit("/", 1)[0] + "/"
"""The grid snapshot's prefix (``readmodel/``): the projector publishes it, the API loads it on a cold start."""


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


SCANNER_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
"""Registry reads (base table and gsi1), the scan lock (put/get/update/delete of LOCK# items), the
execution's STATUS item (ledger and shard coordinator updates)."""

PROJECTOR_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
"""Conditional upserts of resources and accounts, sweeps of a scope by query, processed-event markers,
and the sweep lease (take = conditional put/update, release = delete)."""

API_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
"""Inventory reads (the grid journal's entries by BatchGetItem), rate-limit counters (update), SCAN#
execution items and the sync lock (put/get/update/delete), and the operators' account registry
(put/update/delete of ACCOUNT items)."""

AUDIT_TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query")
"""The audit log is append-only: conditional puts and the audit query; no update or delete."""

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
"""What an Iceberg writer needs on an S3 Tables bucket: catalog calls (it creates the namespace and its
three tables when missing) plus table data I/O. No deletes."""

API_TABLE_BUCKET_ACTIONS = (
    "s3tables:GetTableBucket",
    "s3tables:ListNamespaces",
    "s3tables:GetNamespace",
    "s3tables:ListTables",
    "s3tables:GetTable",
    "s3tables:GetTableMetadataLocation",
    "s3tables:GetTableData",
)
"""The API's analytics read the lake's current snapshots (DuckDB over the Iceberg metadata): read only."""

CONSUME_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
)
"""What an SQS event source mapping (or the scanner's worker loop) needs on its queue."""


def _table_statement(table: dynamodb.ITable, actions: tuple[str, ...]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(actions), resources=[table.table_arn, f"{table.table_arn}/index/*"])


def _consume(queue: sqs.IQueue) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(CONSUME_ACTIONS), resources=[queue.queue_arn])


def _objects(refs: StackRefs, actions: list[str], prefixes: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=[refs.bucket.arn_for_objects(f"{p}*") for p in prefixes])


def _list_prefixes(refs: StackRefs, prefixes: list[str]) -> iam.PolicyStatement:
    """ListBucket limited to ``prefixes``: without it a GET of a missing key is AccessDenied instead of 404."""
    return iam.PolicyStatement(
        actions=["s3:ListBucket"],
        resources=[refs.bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
    )


def _assume_member_roles(refs: StackRefs) -> iam.PolicyStatement:
    # The one account wildcard TRD section 5.2 allows: member accounts are registered at run time.
    return iam.PolicyStatement(
        actions=["sts:AssumeRole"],
        resources=[f"arn:{refs.partition}:iam::*:role/{refs.topology.role_name_pattern}"],
    )


def grant_scanner(refs: StackRefs, role: iam.IRole) -> None:
    """The scanner task: member roles, the registry/lock/status items, claim checks, events, scan requests."""
    role.add_to_principal_policy(_assume_member_roles(refs))
    role.add_to_principal_policy(_table_statement(refs.table, SCANNER_TABLE_ACTIONS))
    # Scheduled and CLI scan triggers are audited (append-only: put, nothing else).
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[refs.audit_table.table_arn])
    )
    role.add_to_principal_policy(_objects(refs, ["s3:PutObject"], ["claims/"]))
    role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[refs.topic.topic_arn]))
    role.add_to_principal_policy(_consume(refs.scan_requests))


def grant_scanner_shards(
    role: iam.IRole, *, task_definition_arn: str, cluster_arn: str, pass_roles: list[iam.IRole]
) -> None:
    """The scanner fans a large fleet out into one Fargate task per shard (ECS RunTask of its own task
    definition); RunTask needs iam:PassRole on the task role and the execution role."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ecs:RunTask"],
            resources=[task_definition_arn],  # this revision: a deploy that adds one updates the policy too
            conditions={"ArnEquals": {"ecs:cluster": cluster_arn}},
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[r.role_arn for r in pass_roles],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        )
    )


def grant_launch_failed(refs: StackRefs, role: iam.IRole, dlq: sqs.IQueue) -> None:
    """The scan-launch-failure function (``scanner.launch_failed``) on the scan-requests DLQ: reads which
    accounts a request meant from the registry and publishes the failed execution's events."""
    role.add_to_principal_policy(_consume(dlq))
    role.add_to_principal_policy(_table_statement(refs.table, ("dynamodb:GetItem", "dynamodb:Query")))
    role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[refs.topic.topic_arn]))


def grant_projector(refs: StackRefs, role: iam.IRole) -> None:
    """The DynamoDB projector function: its queue, the app table, and the grid snapshot it publishes."""
    role.add_to_principal_policy(_consume(refs.consumer_queues["ddb-projector"]))
    role.add_to_principal_policy(_table_statement(refs.table, PROJECTOR_TABLE_ACTIONS))
    role.add_to_principal_policy(_objects(refs, ["s3:GetObject", "s3:PutObject"], [READMODEL_PREFIX]))
    role.add_to_principal_policy(_list_prefixes(refs, [READMODEL_PREFIX]))


def grant_lake_writer(refs: StackRefs, role: iam.IRole) -> None:
    """The lake writer function: its queue and the S3 Tables bucket (catalog and table data)."""
    role.add_to_principal_policy(_consume(refs.consumer_queues["lake-writer"]))
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(LAKE_WRITER_TABLE_BUCKET_ACTIONS),
            resources=[refs.table_bucket_arn, f"{refs.table_bucket_arn}/table/*"],
        )
    )


def grant_archiver(refs: StackRefs, role: iam.IRole) -> None:
    """The archiver function: its queue; staged pages, claim checks and the day's raw documents."""
    role.add_to_principal_policy(_consume(refs.consumer_queues["archiver"]))
    raw = refs.topology.bucket.raw_prefix
    role.add_to_principal_policy(_objects(refs, ["s3:PutObject"], ["staging/", raw]))
    role.add_to_principal_policy(_objects(refs, ["s3:GetObject"], ["staging/", "claims/", raw]))
    role.add_to_principal_policy(_list_prefixes(refs, ["staging/", "claims/", raw]))


def grant_api(refs: StackRefs, role: iam.IRole) -> None:
    """The query API: inventory and registry items, audit log, exports, scan requests, lake reads, checks."""
    role.add_to_principal_policy(_table_statement(refs.table, API_TABLE_ACTIONS))
    role.add_to_principal_policy(_table_statement(refs.audit_table, AUDIT_TABLE_ACTIONS))
    exports = refs.topology.bucket.exports_prefix
    # upload_file goes multipart above 8 MB: Create/UploadPart/Complete are s3:PutObject, abort is its own action.
    role.add_to_principal_policy(_objects(refs, ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], [exports]))
    role.add_to_principal_policy(_objects(refs, ["s3:GetObject"], [READMODEL_PREFIX]))
    role.add_to_principal_policy(_list_prefixes(refs, [exports, READMODEL_PREFIX]))
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[refs.scan_requests.queue_arn])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(API_TABLE_BUCKET_ACTIONS),
            resources=[refs.table_bucket_arn, f"{refs.table_bucket_arn}/table/*"],
        )
    )
    # POST /accounts/{id}/check assumes the member role in each region to report what works.
    role.add_to_principal_policy(_assume_member_roles(refs))
