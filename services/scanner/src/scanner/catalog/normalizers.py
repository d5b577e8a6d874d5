"""Hand-written normalizers: the eight TRD types keep their enrichment, and a few list calls answer bare strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory_events import Resource

from scanner.catalog.spec import (
    InvalidResourceError,
    Normalizer,
    ScopeContext,
    _require,
    _resource,
    dig,
    field_normalizer,
    scalar_metadata,
    tag_map,
)


def normalize_ec2_instance(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """EC2 instance (from describe_instances, flattened out of Reservations)."""
    instance_id = _require(item, "InstanceId", "ec2")
    state = item.get("State") or {}
    return _resource(
        ctx,
        item,
        resource_id=instance_id,
        resource_arn=f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:instance/{instance_id}",
        resource_type="ec2",
        region=ctx.region,
        state=str(state.get("Name", "")),
        tags=tag_map(item.get("Tags")),
        metadata=scalar_metadata(
            item,
            (
                "InstanceType",
                "ImageId",
                "VpcId",
                "SubnetId",
                "PrivateIpAddress",
                "PublicIpAddress",
                "LaunchTime",
                "Architecture",
                "PlatformDetails",
            ),
        ),
    )


def normalize_s3_bucket(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """S3 bucket (from list_buckets; the session adds BucketRegion and Tags)."""
    name = _require(item, "Name", "s3")
    region = item.get("BucketRegion") or "us-east-1"
    return _resource(
        ctx,
        item,
        resource_id=name,
        resource_arn=f"arn:aws:s3:::{name}",
        resource_type="s3",
        region=str(region),
        state="available",
        tags=tag_map(item.get("Tags")),
        metadata=scalar_metadata(item, ("CreationDate", "BucketRegion")),
    )


def normalize_vpc(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """VPC (from describe_vpcs); the API gives no ARN, so it is built."""
    vpc_id = _require(item, "VpcId", "vpc")
    return _resource(
        ctx,
        item,
        resource_id=vpc_id,
        resource_arn=f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:vpc/{vpc_id}",
        resource_type="vpc",
        region=ctx.region,
        state=str(item.get("State", "")),
        tags=tag_map(item.get("Tags")),
        metadata=scalar_metadata(item, ("CidrBlock", "IsDefault", "DhcpOptionsId", "InstanceTenancy", "OwnerId")),
    )


def normalize_ecs_service(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """ECS service (list_clusters, list_services per cluster, describe_services with tags)."""
    arn = _require(item, "serviceArn", "ecs")
    return _resource(
        ctx,
        item,
        resource_id=arn.rsplit("/", 1)[-1],
        resource_arn=arn,
        resource_type="ecs",
        region=ctx.region,
        name=item.get("serviceName"),
        state=str(item.get("status", "")),
        tags=tag_map(item.get("tags")),
        metadata=scalar_metadata(
            item,
            ("clusterArn", "launchType", "desiredCount", "runningCount", "taskDefinition", "schedulingStrategy"),
        ),
    )


def normalize_lambda_function(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """Lambda function (list_functions; the session adds Tags from list_tags)."""
    name = _require(item, "FunctionName", "lambda")
    arn = str(item.get("FunctionArn") or f"arn:aws:lambda:{ctx.region}:{ctx.account_id}:function:{name}")
    return _resource(
        ctx,
        item,
        resource_id=name,
        # The unqualified ARN names the function; a ":$LATEST" qualifier would name one version.
        resource_arn=":".join(arn.split(":")[:7]),
        resource_type="lambda",
        region=ctx.region,
        name=name,
        state=str(item.get("State") or "Active"),
        tags=tag_map(item.get("Tags")),
        metadata=scalar_metadata(
            item, ("Runtime", "Handler", "MemorySize", "Timeout", "LastModified", "CodeSize", "PackageType", "Role")
        ),
    )


def normalize_rds_instance(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """RDS DB instance (describe_db_instances; TagList is inline)."""
    identifier = _require(item, "DBInstanceIdentifier", "rds")
    return _resource(
        ctx,
        item,
        resource_id=identifier,
        resource_arn=str(item.get("DBInstanceArn") or f"arn:aws:rds:{ctx.region}:{ctx.account_id}:db:{identifier}"),
        resource_type="rds",
        region=ctx.region,
        state=str(item.get("DBInstanceStatus", "")),
        tags=tag_map(item.get("TagList")),
        metadata=scalar_metadata(
            item,
            (
                "Engine",
                "EngineVersion",
                "DBInstanceClass",
                "AllocatedStorage",
                "MultiAZ",
                "AvailabilityZone",
                "Endpoint.Address",
                "Endpoint.Port",
                "StorageType",
            ),
        ),
    )


def normalize_dynamodb_table(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """DynamoDB table (list_tables gives names only; the ARN is built, tags come from list_tags_of_resource)."""
    name = item.get("TableName") or item.get("Id")
    if not name or not isinstance(name, str):
        raise InvalidResourceError("dynamodb item has no TableName")
    return _resource(
        ctx,
        item,
        resource_id=name,
        resource_arn=str(item.get("TableArn") or f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"),
        resource_type="dynamodb",
        region=ctx.region,
        name=name,
        state=str(item.get("TableStatus") or "ACTIVE"),
        tags=tag_map(item.get("Tags")),
        metadata=scalar_metadata(item, ("TableStatus", "ItemCount", "TableSizeBytes", "CreationDateTime")),
    )


def normalize_load_balancer(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """ELBv2 load balancer (describe_load_balancers; tags from describe_tags in batches of 20)."""
    arn = _require(item, "LoadBalancerArn", "elbv2")
    return _resource(
        ctx,
        item,
        resource_id=str(item.get("LoadBalancerName") or arn.rsplit("/", 2)[-2]),
        resource_arn=arn,
        resource_type="elbv2",
        region=ctx.region,
        name=item.get("LoadBalancerName"),
        state=str(dig(item, "State.Code") or ""),
        tags=tag_map(item.get("Tags")),
        metadata=scalar_metadata(item, ("Type", "Scheme", "DNSName", "VpcId", "IpAddressType", "CreatedTime")),
    )


def normalize_sqs_queue(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
    """SQS queue (list_queues gives URLs; the ARN is built from the URL)."""
    url = _require(item, "Id", "sqs-queue")
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return _resource(
        ctx,
        item,
        resource_id=url,
        resource_arn=f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{name}",
        resource_type="sqs-queue",
        region=ctx.region,
        name=name,
        state="available",
        metadata={"QueueUrl": url},
    )


def _name_from_arn(slug: str, cfn_type: str, *, separator: str = "/") -> Normalizer:
    """Types whose list call gives bare ARNs (strings): the name is the ARN's last segment."""

    def normalize(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
        arn = _require(item, "Id", slug)
        return _resource(
            ctx,
            item,
            resource_id=arn.rsplit(separator, 1)[-1],
            resource_arn=arn,
            resource_type=slug,
            region=ctx.region,
            state=str(item.get("status", "")),
            tags=tag_map(item.get("tags")),
            metadata={"CloudFormationType": cfn_type},
        )

    return normalize


def _name_to_arn(slug: str, arn_format: str, *, state: str = "available") -> Normalizer:
    """Types whose list call gives bare names (strings): the ARN is built from the name."""
    return field_normalizer(slug, id_key="Id", arn_format=arn_format, default_state=state)
