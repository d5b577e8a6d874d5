"""The member accounts' role, NucleusAccess-Inventory, as a CloudFormation template derived from the catalogue.

A service-managed StackSet rolls the template out to an organizational unit. The role trusts only the
scanner's task role, requires ``sts:ExternalId``, and allows exactly the read actions the scanner calls
for ``SCAN_TYPES=all`` (plus ``tag:GetResources``): each catalogue type's list call, the extra calls its
lister or enricher makes (``EXTRA_CALLS``), and the session's own calls (``SESSION_CALLS``).

The catalogue engineer keeps :func:`catalogue_calls` working when the catalogue changes: a test scans a
seeded account through the role with IAM enforcement on, and fails when a call is missing here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore import xform_name

from scanner.catalog import ResourceSpec, select_specs

ROLE_NAME = "NucleusAccess-Inventory"

EXTRA_CALLS: Mapping[str, tuple[tuple[str, str], ...]] = {
    # enrichers (scanner.adapters.aws_session.AwsAccountSession._enrich)
    "s3_buckets": (("s3", "get_bucket_location"),),
    "dynamodb_tables": (),
    "ecs_clusters": (("ecs", "describe_clusters"),),
    "iam_role_tags": (("iam", "list_role_tags"),),
    "iam_user_tags": (("iam", "list_user_tags"),),
    # listers
    "ecs_services": (("ecs", "list_clusters"), ("ecs", "list_services"), ("ecs", "describe_services")),
}
"""The calls a lister or enricher makes besides the spec's own function, by lister/enricher name."""

SESSION_CALLS: tuple[tuple[str, str], ...] = (
    ("ec2", "describe_regions"),  # the account's enabled regions
    ("resourcegroupstaggingapi", "get_resources"),  # tags of every taggable resource, once per region
)
"""Calls the account session makes whatever the types."""

ACCESS_CHECK_CALLS: tuple[tuple[str, str], ...] = (("ec2", "describe_regions"), ("ec2", "describe_vpcs"))
"""The API's access check (POST /accounts/{id}/check) probes each region with these."""

EXTRA_ACTIONS: tuple[str, ...] = ()
"""Granted besides the catalogue's calls (none today)."""

SIGNING_NAME_TO_IAM_PREFIX: Mapping[str, str] = {
    "monitoring": "cloudwatch",
    "tagging": "tag",
    "email": "ses",
    "IoTSecuredTunneling": "iot",
}
"""Where the IAM service prefix differs from botocore's signing name (elbv2 -> elasticloadbalancing,
opensearch -> es, stepfunctions -> states and efs -> elasticfilesystem already come from the signing name)."""

IAM_ACTION_NAMES: Mapping[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "GetBucketReplication"): "GetReplicationConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "GetBucketAccelerateConfiguration"): "GetAccelerateConfiguration",
    ("budgets", "DescribeBudgets"): "ViewBudget",
    ("cassandra", "ListKeyspaces"): "Select",  # Keyspaces authorizes schema reads as Select on system tables
    ("cassandra", "ListTables"): "Select",
    ("dms", "DescribeDataProviders"): "ListDataProviders",
    ("dms", "DescribeInstanceProfiles"): "ListInstanceProfiles",
    ("dms", "DescribeMigrationProjects"): "ListMigrationProjects",
}
"""(IAM prefix, API operation) whose IAM action has another name than the operation."""

HTTP_VERB_SERVICES = frozenset({"apigateway"})
"""Services whose IAM actions are the HTTP verb of the call (API Gateway v1 and v2: apigateway:GET)."""


def catalogue_calls(specs: Iterable[ResourceSpec] | None = None) -> set[tuple[str, str]]:
    """Every (botocore service, client method) the scanner calls in a member account for ``specs``.

    Args:
        specs: The catalogue types scanned; all of them (``SCAN_TYPES=all``) by default.

    Returns:
        The calls, as (service name, snake_case method).

    Raises:
        KeyError: A spec names a lister or enricher whose calls are not declared in ``EXTRA_CALLS``.
    """
    chosen = tuple(select_specs("all") if specs is None else specs)
    calls = set(SESSION_CALLS) | set(ACCESS_CHECK_CALLS)
    for spec in chosen:
        if spec.lister is None:
            calls.add((spec.service, spec.function))
        for extra in (spec.lister, spec.enricher):
            if extra is not None:
                if extra not in EXTRA_CALLS:
                    raise KeyError(f"{spec.slug}: the calls of {extra!r} are not declared in member_role.EXTRA_CALLS")
                calls.update(EXTRA_CALLS[extra])
    return calls


@cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@cache
def _operations(service: str) -> dict[str, str]:
    return {xform_name(name): name for name in _service_model(service).operation_names}


@cache
def iam_action(service: str, method: str) -> str:
    """The IAM action that authorizes ``client(service).method``: ``elbv2.describe_tags`` ->
    ``elasticloadbalancing:DescribeTags``, ``s3.list_buckets`` -> ``s3:ListAllMyBuckets``.

    Raises:
        ValueError: ``method`` is not an operation of ``service``.
    """
    model = _service_model(service)
    operations = _operations(service)
    if method not in operations:
        raise ValueError(f"{service} has no operation {method!r}")
    operation = operations[method]
    prefix = SIGNING_NAME_TO_IAM_PREFIX.get(model.signing_name, model.signing_name)
    if prefix in HTTP_VERB_SERVICES:
        return f"{prefix}:{model.operation_model(operation).http['method']}"
    return f"{prefix}:{IAM_ACTION_NAMES.get((prefix, operation), operation)}"


def read_actions(specs: Iterable[ResourceSpec] | None = None) -> list[str]:
    """The member role's actions: the IAM action of every catalogue call plus ``EXTRA_ACTIONS``, sorted."""
    return sorted({iam_action(service, method) for service, method in catalogue_calls(specs)} | set(EXTRA_ACTIONS))


MANAGED_POLICY_MAX_CHARS = 6144
"""IAM's size limit of one managed policy document (whitespace not counted)."""

MAX_MANAGED_POLICIES = 10
"""IAM's default quota of managed policies attached to one role."""


def role_policy_documents(specs: Iterable[ResourceSpec] | None = None) -> list[dict[str, Any]]:
    """The read-only permissions, split into managed policies under IAM's size limit.

    List and describe calls take no resource ARN, hence ``Resource: *``; the actions are listed one by
    one (no ``Describe*`` wildcards), so the role can call exactly what the scanner calls.

    Raises:
        ValueError: The actions need more managed policies than a role may have attached.
    """
    documents: list[dict[str, Any]] = []
    chunk: list[str] = []

    def document(actions: list[str]) -> dict[str, Any]:
        n = len(documents) + 1
        statement = {"Sid": f"InventoryRead{n}", "Effect": "Allow", "Action": actions, "Resource": "*"}
        return {"Version": "2012-10-17", "Statement": [statement]}

    for action in read_actions(specs):
        if chunk and len(json.dumps(document([*chunk, action]), separators=(",", ":"))) > MANAGED_POLICY_MAX_CHARS:
            documents.append(document(chunk))
            chunk = []
        chunk.append(action)
    if chunk:
        documents.append(document(chunk))
    if len(documents) > MAX_MANAGED_POLICIES:
        raise ValueError(f"{len(documents)} managed policies needed; a role takes {MAX_MANAGED_POLICIES}")
    return documents


def trust_policy_document(principals: Any, external_id: Any) -> dict[str, Any]:
    """Only the named principals (the scanner's task role) may assume the role, and only with the external id."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def template(specs: Iterable[ResourceSpec] | None = None, *, role_name: str = ROLE_NAME) -> dict[str, Any]:
    """The CloudFormation template of the member role (deployable as a service-managed StackSet).

    Parameters: ``ScannerRoleArn`` (the only principal trusted by default), ``ExternalId``, and an
    optional ``AccessCheckRoleArn``: the query API's role, trusted too only when given, so that
    ``POST /accounts/{id}/check`` can test the role (leave it empty to trust the scanner alone).

    Args:
        specs: The catalogue types the role must be able to read; all by default.
        role_name: The role's name; the scanner assumes only ``NucleusAccess-*``.

    Returns:
        The template as a dict (``json.dumps`` it; CloudFormation reads JSON as YAML).
    """
    if not role_name.startswith("NucleusAccess-"):
        raise ValueError(f"the scanner assumes only NucleusAccess-* roles, not {role_name!r}")
    principals = {
        "Fn::If": [
            "TrustAccessCheck",
            [{"Ref": "ScannerRoleArn"}, {"Ref": "AccessCheckRoleArn"}],
            {"Ref": "ScannerRoleArn"},
        ]
    }
    resources: dict[str, Any] = {
        "InventoryRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": role_name,
                "Description": "Read-only inventory access for AWS Auto-Discovery's scanner",
                "MaxSessionDuration": 3600,
                "AssumeRolePolicyDocument": trust_policy_document(principals, {"Ref": "ExternalId"}),
            },
        }
    }
    for n, document in enumerate(role_policy_documents(specs), start=1):
        resources[f"InventoryRead{n}"] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": f"AWS Auto-Discovery inventory read actions, part {n}",
                "Roles": [{"Ref": "InventoryRole"}],
                "PolicyDocument": document,
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{role_name}: read-only role that AWS Auto-Discovery's scanner assumes to inventory this account. "
            "Deploy to an organizational unit with a service-managed StackSet (capability CAPABILITY_NAMED_IAM)."
        ),
        "Parameters": {
            "ScannerRoleArn": {
                "Type": "String",
                "Description": "ARN of the scanner's ECS task role in the inventory account (stack output).",
                "AllowedPattern": r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
            },
            "ExternalId": {
                "Type": "String",
                "Description": "The external id the scanner sends with sts:AssumeRole (kept on the account's item).",
                "NoEcho": True,
                "MinLength": 2,
                "MaxLength": 1224,
                "AllowedPattern": r"^[\w+=,.@:/-]+$",
            },
            "AccessCheckRoleArn": {
                "Type": "String",
                "Default": "",
                "Description": "Optional: the query API's role, trusted too so the API's access check works.",
                "AllowedPattern": r"^(arn:aws[a-z-]*:iam::\d{12}:role/.+)?$",
            },
        },
        "Conditions": {"TrustAccessCheck": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AccessCheckRoleArn"}, ""]}]}},
        "Resources": resources,
        "Outputs": {
            "RoleArn": {
                "Description": "The role the scanner assumes",
                "Value": {"Fn::GetAtt": ["InventoryRole", "Arn"]},
            }
        },
    }


def template_json(specs: Iterable[ResourceSpec] | None = None) -> str:
    """:func:`template` as indented JSON (what ``inventory member-role template`` prints)."""
    return json.dumps(template(specs), indent=2)
