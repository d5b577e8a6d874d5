"""The catalogue of resource types the scanner knows, and their normalizers.

A :class:`ResourceSpec` is one aws-auto-inventory "sheet" (service, function, result_key, flatten)
plus what we know about the type: its slug, CloudFormation type, whether it is global, how to build
its ARN, name and state. Normalizers are pure functions of the raw item, so they are unit-tested
without any network. Listing strategies (``lister``) and enrichments that need more API calls
(``enricher``: tags, bucket regions, service details) are named here and implemented by the session
adapter, so this module stays free of boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inventory_events import GLOBAL_REGION, Resource


class InvalidResourceError(ValueError):
    """A raw item lacks what its normalizer needs; the item is skipped with a warning."""


@dataclass(frozen=True)
class ScopeContext:
    """Where a raw item was found."""

    account_id: str
    region: str
    discovered_at: datetime


Normalizer = Callable[[Mapping[str, Any], ScopeContext], Resource]


@dataclass(frozen=True)
class ResourceSpec:
    """One resource type: how to list it and how to normalize its items."""

    slug: str
    cfn_type: str
    service: str
    function: str
    result_key: str
    normalize: Normalizer
    flatten: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    is_global: bool = False
    page_size_param: str | None = None
    page_size: int | None = None
    #: A listing the adapter implements itself (e.g. ECS services need their clusters first).
    lister: str | None = None
    #: Extra calls the adapter makes per page (tags, regions, details) before normalizing.
    enricher: str | None = None
    #: The sheet name in the aws-auto-inventory YAML.
    sheet: str = ""


def tag_map(tags: Any) -> dict[str, str]:
    """Turn AWS tag lists ([{Key, Value}] in any casing) or dicts into a string map."""
    if isinstance(tags, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for tag in tags or []:
        if not isinstance(tag, Mapping):
            continue
        key = tag.get("Key", tag.get("key", tag.get("TagKey")))
        if key is not None:
            value = tag.get("Value", tag.get("value", tag.get("TagValue")))
            result[str(key)] = "" if value is None else str(value)
    return result


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def scalar_metadata(item: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """Pick scalar fields of a raw item as strings (dotted paths reach into maps; lists and maps are left out)."""
    out: dict[str, str] = {}
    for key in keys:
        value = dig(item, key)
        if value is None or isinstance(value, (dict, list)):
            continue
        out[key] = _text(value)
    return out


def all_scalars(item: Mapping[str, Any], *, limit: int = 40) -> dict[str, str]:
    """Every top-level scalar of a raw item as strings: the metadata of user-defined sheets."""
    out: dict[str, str] = {}
    for key, value in item.items():
        if len(out) >= limit:
            break
        if value is not None and not isinstance(value, (dict, list)):
            out[str(key)] = _text(value)
    return out


def dig(item: Mapping[str, Any], path: str) -> Any:
    """Read a dotted path (``State.Name``) from nested maps; None when any step is missing."""
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _require(item: Mapping[str, Any], key: str, slug: str) -> str:
    value = dig(item, key)
    if not value or not isinstance(value, str):
        raise InvalidResourceError(f"{slug} item has no {key}")
    return value


def _resource(ctx: ScopeContext, item: Mapping[str, Any], **fields: Any) -> Resource:
    tags = fields.pop("tags", {})
    name = fields.pop("name", None) or tags.get("Name") or fields["resource_id"]
    return Resource(
        account_id=ctx.account_id,
        discovered_at=ctx.discovered_at,
        raw=dict(item),
        tags=tags,
        name=name,
        **fields,
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


_FIELD = re.compile(r"\{(\w+)\}")


def field_normalizer(
    slug: str,
    *,
    id_key: str,
    arn_key: str | None = None,
    arn_format: str | None = None,
    name_key: str | None = None,
    state_key: str | None = None,
    default_state: str = "",
    tags_key: str = "Tags",
    metadata: tuple[str, ...] = (),
) -> Normalizer:
    """Build a normalizer from field names; ``arn_format`` may use {region}, {account}, {id} and any item field."""

    def normalize(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
        resource_id = _require(item, id_key, slug)
        arn = dig(item, arn_key) if arn_key else None
        if not arn:
            if not arn_format:
                raise InvalidResourceError(f"{slug} item has no {arn_key}")
            values = {"region": ctx.region, "account": ctx.account_id, "id": resource_id.lstrip("/")}
            arn = _FIELD.sub(lambda m: str(values.get(m.group(1), dig(item, m.group(1)) or "")), arn_format)
        name = dig(item, name_key) if name_key else None
        state = dig(item, state_key) if state_key else None
        return _resource(
            ctx,
            item,
            resource_id=resource_id,
            resource_arn=str(arn),
            resource_type=slug,
            region=ctx.region,
            name=str(name) if name else None,
            state=str(state) if state is not None else default_state,
            tags=tag_map(item.get(tags_key)),
            metadata=scalar_metadata(item, metadata),
        )

    return normalize


_ID_KEYS = ("Arn", "ARN", "Id", "ID", "Name", "id", "name", "arn")


def generic_normalizer(slug: str, service: str) -> Normalizer:
    """Normalizer of a user-defined sheet: the best identifier and ARN the item offers, every scalar as metadata."""

    def normalize(item: Mapping[str, Any], ctx: ScopeContext) -> Resource:
        arn = next(
            (
                str(v)
                for k, v in item.items()
                if k.lower().endswith("arn") and isinstance(v, str) and v.startswith("arn:")
            ),
            None,
        )
        resource_id = _generic_id(item, arn)
        if resource_id is None:
            raise InvalidResourceError(f"{slug} item has no identifier (none of *Id, *Name, *Arn)")
        if arn is None:
            # No ARN in the answer: a stable, unique stand-in in ARN shape, so stores can key on it.
            arn = f"arn:aws:{service}:{ctx.region}:{ctx.account_id}:{slug}/{resource_id}"
        state = next(
            (str(v) for k, v in item.items() if k.lower() in {"state", "status"} and not isinstance(v, (dict, list))),
            "",
        )
        tags = tag_map(item.get("Tags", item.get("tags", item.get("TagList"))))
        name = next((str(v) for k, v in item.items() if k.endswith("Name") and isinstance(v, str) and v), None)
        return _resource(
            ctx,
            item,
            resource_id=resource_id,
            resource_arn=arn,
            resource_type=slug,
            region=ctx.region,
            name=name,
            state=state,
            tags=tags,
            metadata=all_scalars(item),
        )

    return normalize


def _generic_id(item: Mapping[str, Any], arn: str | None) -> str | None:
    for suffix in ("Id", "ID", "Name", "Identifier"):
        for key, value in item.items():
            if key.endswith(suffix) and isinstance(value, (str, int)) and str(value):
                return str(value)
    for key in _ID_KEYS:
        value = item.get(key)
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return arn


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


def _ec2(
    slug: str,
    cfn: str,
    function: str,
    result_key: str,
    id_key: str,
    arn_path: str,
    *,
    state_key: str | None = None,
    name_key: str | None = None,
    tags_key: str = "Tags",
    metadata: tuple[str, ...] = (),
    page_size: int | None = 1000,
    parameters: Mapping[str, Any] | None = None,
) -> ResourceSpec:
    return ResourceSpec(
        slug=slug,
        cfn_type=cfn,
        service="ec2",
        function=function,
        result_key=result_key,
        normalize=field_normalizer(
            slug,
            id_key=id_key,
            arn_format=f"arn:aws:ec2:{{region}}:{{account}}:{arn_path}/{{id}}",
            state_key=state_key,
            name_key=name_key,
            tags_key=tags_key,
            metadata=metadata,
        ),
        page_size_param="MaxResults" if page_size else None,
        page_size=page_size,
        parameters=parameters or {},
    )


def _spec(
    slug: str,
    cfn: str,
    service: str,
    function: str,
    result_key: str,
    normalize: Normalizer,
    *,
    page_size: int | None = None,
    is_global: bool = False,
    parameters: Mapping[str, Any] | None = None,
    enricher: str | None = None,
) -> ResourceSpec:
    return ResourceSpec(
        slug=slug,
        cfn_type=cfn,
        service=service,
        function=function,
        result_key=result_key,
        normalize=normalize,
        page_size=page_size,
        is_global=is_global,
        parameters=parameters or {},
        enricher=enricher,
    )


#: The eight types of the TRD sheets, in the order of the TRD config (section 2.2).
TRD_CATALOG: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        slug="ec2",
        cfn_type="AWS::EC2::Instance",
        service="ec2",
        function="describe_instances",
        result_key="Reservations",
        flatten="Instances",
        normalize=normalize_ec2_instance,
        page_size_param="MaxResults",
        page_size=1000,
        sheet="EC2Instances",
    ),
    ResourceSpec(
        slug="ecs",
        cfn_type="AWS::ECS::Service",
        service="ecs",
        function="list_services",
        result_key="serviceArns",
        normalize=normalize_ecs_service,
        page_size=100,
        lister="ecs_services",
        sheet="ECSServices",
    ),
    ResourceSpec(
        slug="lambda",
        cfn_type="AWS::Lambda::Function",
        service="lambda",
        function="list_functions",
        result_key="Functions",
        normalize=normalize_lambda_function,
        page_size=50,
        enricher="lambda_tags",
        sheet="LambdaFunctions",
    ),
    ResourceSpec(
        slug="rds",
        cfn_type="AWS::RDS::DBInstance",
        service="rds",
        function="describe_db_instances",
        result_key="DBInstances",
        normalize=normalize_rds_instance,
        page_size=100,
        sheet="RDSInstances",
    ),
    ResourceSpec(
        slug="dynamodb",
        cfn_type="AWS::DynamoDB::Table",
        service="dynamodb",
        function="list_tables",
        result_key="TableNames",
        normalize=normalize_dynamodb_table,
        page_size=100,
        enricher="dynamodb_tags",
        sheet="DynamoDBTables",
    ),
    ResourceSpec(
        slug="s3",
        cfn_type="AWS::S3::Bucket",
        service="s3",
        function="list_buckets",
        result_key="Buckets",
        normalize=normalize_s3_bucket,
        is_global=True,
        enricher="s3_buckets",
        sheet="S3Buckets",
    ),
    ResourceSpec(
        slug="vpc",
        cfn_type="AWS::EC2::VPC",
        service="ec2",
        function="describe_vpcs",
        result_key="Vpcs",
        normalize=normalize_vpc,
        page_size_param="MaxResults",
        page_size=1000,
        sheet="VPCs",
    ),
    ResourceSpec(
        slug="elbv2",
        cfn_type="AWS::ElasticLoadBalancingV2::LoadBalancer",
        service="elbv2",
        function="describe_load_balancers",
        result_key="LoadBalancers",
        normalize=normalize_load_balancer,
        page_size=400,
        enricher="elbv2_tags",
        sheet="LoadBalancers",
    ),
)

_N = field_normalizer

#: Widely used types beyond the TRD sheets (scanned when SCAN_TYPES=all or named).
EXTENDED_CATALOG: tuple[ResourceSpec, ...] = (
    _ec2(
        "subnet",
        "AWS::EC2::Subnet",
        "describe_subnets",
        "Subnets",
        "SubnetId",
        "subnet",
        state_key="State",
        metadata=("VpcId", "CidrBlock", "AvailabilityZone", "AvailableIpAddressCount", "MapPublicIpOnLaunch"),
    ),
    _ec2(
        "security-group",
        "AWS::EC2::SecurityGroup",
        "describe_security_groups",
        "SecurityGroups",
        "GroupId",
        "security-group",
        name_key="GroupName",
        metadata=("VpcId", "Description", "GroupName"),
    ),
    _ec2(
        "ebs-volume",
        "AWS::EC2::Volume",
        "describe_volumes",
        "Volumes",
        "VolumeId",
        "volume",
        state_key="State",
        metadata=("Size", "VolumeType", "AvailabilityZone", "Encrypted", "Iops", "CreateTime"),
    ),
    _ec2(
        "elastic-ip",
        "AWS::EC2::EIP",
        "describe_addresses",
        "Addresses",
        "AllocationId",
        "elastic-ip",
        metadata=("PublicIp", "Domain", "InstanceId", "NetworkInterfaceId", "PrivateIpAddress"),
        page_size=None,
    ),
    _ec2(
        "nat-gateway",
        "AWS::EC2::NatGateway",
        "describe_nat_gateways",
        "NatGateways",
        "NatGatewayId",
        "natgateway",
        state_key="State",
        metadata=("VpcId", "SubnetId", "ConnectivityType", "CreateTime"),
    ),
    _ec2(
        "internet-gateway",
        "AWS::EC2::InternetGateway",
        "describe_internet_gateways",
        "InternetGateways",
        "InternetGatewayId",
        "internet-gateway",
        metadata=("OwnerId",),
    ),
    _ec2(
        "route-table",
        "AWS::EC2::RouteTable",
        "describe_route_tables",
        "RouteTables",
        "RouteTableId",
        "route-table",
        metadata=("VpcId", "OwnerId"),
        page_size=100,
    ),
    _ec2(
        "network-interface",
        "AWS::EC2::NetworkInterface",
        "describe_network_interfaces",
        "NetworkInterfaces",
        "NetworkInterfaceId",
        "network-interface",
        state_key="Status",
        tags_key="TagSet",
        metadata=("VpcId", "SubnetId", "PrivateIpAddress", "InterfaceType", "Description", "MacAddress"),
    ),
    _ec2(
        "network-acl",
        "AWS::EC2::NetworkAcl",
        "describe_network_acls",
        "NetworkAcls",
        "NetworkAclId",
        "network-acl",
        metadata=("VpcId", "IsDefault"),
    ),
    _ec2(
        "launch-template",
        "AWS::EC2::LaunchTemplate",
        "describe_launch_templates",
        "LaunchTemplates",
        "LaunchTemplateId",
        "launch-template",
        name_key="LaunchTemplateName",
        metadata=("DefaultVersionNumber", "LatestVersionNumber", "CreateTime"),
        page_size=200,
    ),
    _ec2(
        "key-pair",
        "AWS::EC2::KeyPair",
        "describe_key_pairs",
        "KeyPairs",
        "KeyPairId",
        "key-pair",
        name_key="KeyName",
        metadata=("KeyFingerprint", "KeyType"),
        page_size=None,
    ),
    _ec2(
        "vpc-endpoint",
        "AWS::EC2::VPCEndpoint",
        "describe_vpc_endpoints",
        "VpcEndpoints",
        "VpcEndpointId",
        "vpc-endpoint",
        state_key="State",
        metadata=("VpcId", "ServiceName", "VpcEndpointType"),
    ),
    _ec2(
        "dhcp-options",
        "AWS::EC2::DHCPOptions",
        "describe_dhcp_options",
        "DhcpOptions",
        "DhcpOptionsId",
        "dhcp-options",
        metadata=("OwnerId",),
    ),
    _ec2(
        "transit-gateway",
        "AWS::EC2::TransitGateway",
        "describe_transit_gateways",
        "TransitGateways",
        "TransitGatewayId",
        "transit-gateway",
        state_key="State",
        metadata=("OwnerId", "Description"),
    ),
    _spec(
        "autoscaling-group",
        "AWS::AutoScaling::AutoScalingGroup",
        "autoscaling",
        "describe_auto_scaling_groups",
        "AutoScalingGroups",
        _N(
            "autoscaling-group",
            id_key="AutoScalingGroupName",
            arn_key="AutoScalingGroupARN",
            state_key="Status",
            default_state="active",
            metadata=(
                "MinSize",
                "MaxSize",
                "DesiredCapacity",
                "VPCZoneIdentifier",
                "LaunchConfigurationName",
                "CreatedTime",
            ),
        ),
        page_size=100,
    ),
    _spec(
        "ecs-cluster",
        "AWS::ECS::Cluster",
        "ecs",
        "list_clusters",
        "clusterArns",
        _N(
            "ecs-cluster",
            id_key="clusterName",
            arn_key="clusterArn",
            state_key="status",
            tags_key="tags",
            metadata=("activeServicesCount", "runningTasksCount", "registeredContainerInstancesCount"),
        ),
        page_size=100,
        enricher="ecs_clusters",
    ),
    _spec(
        "ecs-task-definition",
        "AWS::ECS::TaskDefinition",
        "ecs",
        "list_task_definitions",
        "taskDefinitionArns",
        _name_from_arn("ecs-task-definition", "AWS::ECS::TaskDefinition"),
        page_size=100,
    ),
    _spec(
        "eks-cluster",
        "AWS::EKS::Cluster",
        "eks",
        "list_clusters",
        "clusters",
        _name_to_arn("eks-cluster", "arn:aws:eks:{region}:{account}:cluster/{id}", state="ACTIVE"),
        page_size=100,
    ),
    _spec(
        "ecr-repository",
        "AWS::ECR::Repository",
        "ecr",
        "describe_repositories",
        "repositories",
        _N(
            "ecr-repository",
            id_key="repositoryName",
            arn_key="repositoryArn",
            default_state="available",
            metadata=("repositoryUri", "imageTagMutability", "createdAt"),
        ),
        page_size=1000,
    ),
    _spec("sqs-queue", "AWS::SQS::Queue", "sqs", "list_queues", "QueueUrls", normalize_sqs_queue, page_size=1000),
    _spec(
        "sns-topic",
        "AWS::SNS::Topic",
        "sns",
        "list_topics",
        "Topics",
        _N("sns-topic", id_key="TopicArn", arn_key="TopicArn", default_state="available"),
    ),
    _spec(
        "kms-key",
        "AWS::KMS::Key",
        "kms",
        "list_keys",
        "Keys",
        _N("kms-key", id_key="KeyId", arn_key="KeyArn", default_state="available"),
        page_size=1000,
    ),
    _spec(
        "secret",
        "AWS::SecretsManager::Secret",
        "secretsmanager",
        "list_secrets",
        "SecretList",
        _N(
            "secret",
            id_key="Name",
            arn_key="ARN",
            name_key="Name",
            default_state="available",
            metadata=("Description", "LastChangedDate", "RotationEnabled", "KmsKeyId"),
        ),
        page_size=100,
    ),
    _spec(
        "ssm-parameter",
        "AWS::SSM::Parameter",
        "ssm",
        "describe_parameters",
        "Parameters",
        _N(
            "ssm-parameter",
            id_key="Name",
            arn_key="ARN",
            arn_format="arn:aws:ssm:{region}:{account}:parameter/{id}",
            default_state="available",
            metadata=("Type", "Version", "Tier", "LastModifiedDate", "DataType"),
        ),
        page_size=50,
    ),
    _spec(
        "iam-role",
        "AWS::IAM::Role",
        "iam",
        "list_roles",
        "Roles",
        _N(
            "iam-role",
            id_key="RoleName",
            arn_key="Arn",
            default_state="available",
            metadata=("RoleId", "Path", "CreateDate", "MaxSessionDuration"),
        ),
        page_size=1000,
        is_global=True,
    ),
    _spec(
        "iam-user",
        "AWS::IAM::User",
        "iam",
        "list_users",
        "Users",
        _N(
            "iam-user",
            id_key="UserName",
            arn_key="Arn",
            default_state="available",
            metadata=("UserId", "Path", "CreateDate", "PasswordLastUsed"),
        ),
        page_size=1000,
        is_global=True,
    ),
    _spec(
        "iam-policy",
        "AWS::IAM::ManagedPolicy",
        "iam",
        "list_policies",
        "Policies",
        _N(
            "iam-policy",
            id_key="PolicyName",
            arn_key="Arn",
            default_state="available",
            metadata=("PolicyId", "Path", "AttachmentCount", "DefaultVersionId", "CreateDate"),
        ),
        page_size=1000,
        is_global=True,
        parameters={"Scope": "Local"},
    ),
    _spec(
        "iam-group",
        "AWS::IAM::Group",
        "iam",
        "list_groups",
        "Groups",
        _N(
            "iam-group",
            id_key="GroupName",
            arn_key="Arn",
            default_state="available",
            metadata=("GroupId", "Path", "CreateDate"),
        ),
        page_size=1000,
        is_global=True,
    ),
    _spec(
        "cloudfront-distribution",
        "AWS::CloudFront::Distribution",
        "cloudfront",
        "list_distributions",
        "DistributionList.Items",
        _N(
            "cloudfront-distribution",
            id_key="Id",
            arn_key="ARN",
            name_key="DomainName",
            state_key="Status",
            metadata=("DomainName", "Enabled", "PriceClass", "HttpVersion", "LastModifiedTime"),
        ),
        is_global=True,
    ),
    _spec(
        "route53-zone",
        "AWS::Route53::HostedZone",
        "route53",
        "list_hosted_zones",
        "HostedZones",
        _N(
            "route53-zone",
            id_key="Id",
            arn_format="arn:aws:route53:::{id}",
            name_key="Name",
            default_state="available",
            metadata=("ResourceRecordSetCount", "Config.PrivateZone"),
        ),
        page_size=100,
        is_global=True,
    ),
    _spec(
        "apigateway-rest-api",
        "AWS::ApiGateway::RestApi",
        "apigateway",
        "get_rest_apis",
        "items",
        _N(
            "apigateway-rest-api",
            id_key="id",
            arn_format="arn:aws:apigateway:{region}::/restapis/{id}",
            name_key="name",
            tags_key="tags",
            default_state="available",
            metadata=("description", "createdDate", "apiKeySource"),
        ),
        page_size=500,
    ),
    _spec(
        "apigatewayv2-api",
        "AWS::ApiGatewayV2::Api",
        "apigatewayv2",
        "get_apis",
        "Items",
        _N(
            "apigatewayv2-api",
            id_key="ApiId",
            arn_format="arn:aws:apigateway:{region}::/apis/{id}",
            name_key="Name",
            default_state="available",
            metadata=("ProtocolType", "ApiEndpoint", "CreatedDate", "Description"),
        ),
    ),
    _spec(
        "stepfunctions-state-machine",
        "AWS::StepFunctions::StateMachine",
        "stepfunctions",
        "list_state_machines",
        "stateMachines",
        _N(
            "stepfunctions-state-machine",
            id_key="name",
            arn_key="stateMachineArn",
            default_state="available",
            metadata=("type", "creationDate"),
        ),
        page_size=1000,
    ),
    _spec(
        "eventbridge-rule",
        "AWS::Events::Rule",
        "events",
        "list_rules",
        "Rules",
        _N(
            "eventbridge-rule",
            id_key="Name",
            arn_key="Arn",
            state_key="State",
            metadata=("EventBusName", "ScheduleExpression", "Description"),
        ),
        page_size=100,
    ),
    _spec(
        "eventbridge-bus",
        "AWS::Events::EventBus",
        "events",
        "list_event_buses",
        "EventBuses",
        _N("eventbridge-bus", id_key="Name", arn_key="Arn", default_state="available"),
    ),
    _spec(
        "cloudwatch-alarm",
        "AWS::CloudWatch::Alarm",
        "cloudwatch",
        "describe_alarms",
        "MetricAlarms",
        _N(
            "cloudwatch-alarm",
            id_key="AlarmName",
            arn_key="AlarmArn",
            state_key="StateValue",
            metadata=("MetricName", "Namespace", "Statistic", "Threshold", "ComparisonOperator"),
        ),
        page_size=100,
    ),
    _spec(
        "log-group",
        "AWS::Logs::LogGroup",
        "logs",
        "describe_log_groups",
        "logGroups",
        _N(
            "log-group",
            id_key="logGroupName",
            arn_key="logGroupArn",
            arn_format="arn:aws:logs:{region}:{account}:log-group:{id}",
            default_state="available",
            metadata=("retentionInDays", "storedBytes", "creationTime", "logGroupClass"),
        ),
        page_size=50,
    ),
    _spec(
        "elasticache-cluster",
        "AWS::ElastiCache::CacheCluster",
        "elasticache",
        "describe_cache_clusters",
        "CacheClusters",
        _N(
            "elasticache-cluster",
            id_key="CacheClusterId",
            arn_key="ARN",
            arn_format="arn:aws:elasticache:{region}:{account}:cluster:{id}",
            state_key="CacheClusterStatus",
            metadata=("Engine", "EngineVersion", "CacheNodeType", "NumCacheNodes"),
        ),
        page_size=100,
    ),
    _spec(
        "opensearch-domain",
        "AWS::OpenSearchService::Domain",
        "opensearch",
        "list_domain_names",
        "DomainNames",
        _N(
            "opensearch-domain",
            id_key="DomainName",
            arn_format="arn:aws:es:{region}:{account}:domain/{id}",
            default_state="available",
            metadata=("EngineType",),
        ),
    ),
    _spec(
        "redshift-cluster",
        "AWS::Redshift::Cluster",
        "redshift",
        "describe_clusters",
        "Clusters",
        _N(
            "redshift-cluster",
            id_key="ClusterIdentifier",
            arn_format="arn:aws:redshift:{region}:{account}:cluster:{id}",
            state_key="ClusterStatus",
            metadata=("NodeType", "NumberOfNodes", "DBName", "ClusterCreateTime"),
        ),
        page_size=100,
    ),
    _spec(
        "efs-filesystem",
        "AWS::EFS::FileSystem",
        "efs",
        "describe_file_systems",
        "FileSystems",
        _N(
            "efs-filesystem",
            id_key="FileSystemId",
            arn_key="FileSystemArn",
            name_key="Name",
            state_key="LifeCycleState",
            metadata=("PerformanceMode", "ThroughputMode", "Encrypted", "SizeInBytes.Value", "CreationTime"),
        ),
        page_size=100,
    ),
    _spec(
        "kinesis-stream",
        "AWS::Kinesis::Stream",
        "kinesis",
        "list_streams",
        "StreamNames",
        _name_to_arn("kinesis-stream", "arn:aws:kinesis:{region}:{account}:stream/{id}", state="ACTIVE"),
        page_size=100,
    ),
    _spec(
        "firehose-stream",
        "AWS::KinesisFirehose::DeliveryStream",
        "firehose",
        "list_delivery_streams",
        "DeliveryStreamNames",
        _name_to_arn("firehose-stream", "arn:aws:firehose:{region}:{account}:deliverystream/{id}", state="ACTIVE"),
    ),
    _spec(
        "glue-database",
        "AWS::Glue::Database",
        "glue",
        "get_databases",
        "DatabaseList",
        _N(
            "glue-database",
            id_key="Name",
            arn_format="arn:aws:glue:{region}:{account}:database/{id}",
            default_state="available",
            metadata=("Description", "CreateTime", "CatalogId"),
        ),
        page_size=100,
    ),
    _spec(
        "glue-job",
        "AWS::Glue::Job",
        "glue",
        "get_jobs",
        "Jobs",
        _N(
            "glue-job",
            id_key="Name",
            arn_format="arn:aws:glue:{region}:{account}:job/{id}",
            default_state="available",
            metadata=("Role", "GlueVersion", "WorkerType", "CreatedOn"),
        ),
        page_size=100,
    ),
    _spec(
        "acm-certificate",
        "AWS::CertificateManager::Certificate",
        "acm",
        "list_certificates",
        "CertificateSummaryList",
        _N(
            "acm-certificate",
            id_key="CertificateArn",
            arn_key="CertificateArn",
            name_key="DomainName",
            state_key="Status",
            metadata=("DomainName", "Type", "KeyAlgorithm", "InUse", "NotAfter"),
        ),
        page_size=1000,
    ),
    _spec(
        "rds-cluster",
        "AWS::RDS::DBCluster",
        "rds",
        "describe_db_clusters",
        "DBClusters",
        _N(
            "rds-cluster",
            id_key="DBClusterIdentifier",
            arn_key="DBClusterArn",
            state_key="Status",
            tags_key="TagList",
            metadata=("Engine", "EngineVersion", "Endpoint", "MultiAZ", "DatabaseName"),
        ),
        page_size=100,
    ),
    _spec(
        "elb-classic",
        "AWS::ElasticLoadBalancing::LoadBalancer",
        "elb",
        "describe_load_balancers",
        "LoadBalancerDescriptions",
        _N(
            "elb-classic",
            id_key="LoadBalancerName",
            arn_format="arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{id}",
            default_state="active",
            metadata=("DNSName", "Scheme", "VPCId", "CreatedTime"),
        ),
        page_size=400,
    ),
    _spec(
        "elbv2-target-group",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "elbv2",
        "describe_target_groups",
        "TargetGroups",
        _N(
            "elbv2-target-group",
            id_key="TargetGroupName",
            arn_key="TargetGroupArn",
            default_state="available",
            metadata=("Protocol", "Port", "VpcId", "TargetType", "HealthCheckPath"),
        ),
        page_size=400,
    ),
    _spec(
        "cloudformation-stack",
        "AWS::CloudFormation::Stack",
        "cloudformation",
        "describe_stacks",
        "Stacks",
        _N(
            "cloudformation-stack",
            id_key="StackName",
            arn_key="StackId",
            state_key="StackStatus",
            metadata=("CreationTime", "LastUpdatedTime", "Description", "DriftInformation.StackDriftStatus"),
        ),
    ),
    _spec(
        "cognito-user-pool",
        "AWS::Cognito::UserPool",
        "cognito-idp",
        "list_user_pools",
        "UserPools",
        _N(
            "cognito-user-pool",
            id_key="Id",
            arn_format="arn:aws:cognito-idp:{region}:{account}:userpool/{id}",
            name_key="Name",
            state_key="Status",
            default_state="available",
            metadata=("CreationDate", "LastModifiedDate"),
        ),
        page_size=60,
        parameters={"MaxResults": 60},
    ),
)

CATALOG: tuple[ResourceSpec, ...] = TRD_CATALOG + EXTENDED_CATALOG
TRD_TYPES: tuple[str, ...] = tuple(spec.slug for spec in TRD_CATALOG)


def spec_by_slug(slug: str) -> ResourceSpec:
    """Look a spec up by its slug."""
    for spec in CATALOG:
        if spec.slug == slug:
            return spec
    raise KeyError(slug)


def select_specs(selection: str | list[str] | tuple[str, ...]) -> tuple[ResourceSpec, ...]:
    """Specs by a selection: ``trd`` (the eight TRD sheets), ``all`` (the whole catalogue) or slugs.

    Raises:
        KeyError: A slug is not in the catalogue (the message lists the unknown ones).
    """
    names = [selection] if isinstance(selection, str) else list(selection)
    chosen: dict[str, ResourceSpec] = {}
    unknown: list[str] = []
    for name in names:
        key = name.strip().lower()
        if key == "trd":
            chosen.update((s.slug, s) for s in TRD_CATALOG)
        elif key == "all":
            chosen.update((s.slug, s) for s in CATALOG)
        elif key:
            try:
                spec = spec_by_slug(key)
            except KeyError:
                unknown.append(name)
            else:
                chosen[spec.slug] = spec
    if unknown:
        raise KeyError(f"unknown resource types {unknown}; known: trd, all, {', '.join(s.slug for s in CATALOG)}")
    return tuple(chosen.values())


def scope_regions(spec: ResourceSpec, regions: list[str]) -> list[str]:
    """Global types are scanned once per account, under the ``global`` region."""
    return [GLOBAL_REGION] if spec.is_global else list(regions)
