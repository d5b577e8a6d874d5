"""The catalogue of resource types the scanner knows, and their normalizers.

A :class:`ResourceSpec` is one aws-auto-inventory "sheet" (service, function, result_key, flatten)
plus what we know about the type: its slug, CloudFormation type, whether it is global, how to build
its ARN, name and state. Normalizers are pure functions of the raw item, so they are unit-tested
without any network.
"""

from __future__ import annotations

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


def tag_map(tags: Any) -> dict[str, str]:
    """Turn AWS tag lists ([{Key, Value}] in any casing) or dicts into a string map."""
    if isinstance(tags, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            value = tag.get("Value", tag.get("value"))
            result[str(key)] = "" if value is None else str(value)
    return result


def scalar_metadata(item: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """Pick scalar fields of a raw item as strings (lists, maps and missing fields are left out)."""
    out: dict[str, str] = {}
    for key in keys:
        value = item.get(key)
        if value is None or isinstance(value, (dict, list)):
            continue
        out[key] = value.isoformat() if isinstance(value, datetime) else str(value)
    return out


def _require(item: Mapping[str, Any], key: str, slug: str) -> str:
    value = item.get(key)
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
        metadata=scalar_metadata(item, ("CidrBlock", "IsDefault", "DhcpOptionsId", "InstanceTenancy")),
    )


CATALOG: tuple[ResourceSpec, ...] = (
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
    ),
    ResourceSpec(
        slug="s3",
        cfn_type="AWS::S3::Bucket",
        service="s3",
        function="list_buckets",
        result_key="Buckets",
        normalize=normalize_s3_bucket,
        is_global=True,
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
    ),
)


def spec_by_slug(slug: str) -> ResourceSpec:
    """Look a spec up by its slug."""
    for spec in CATALOG:
        if spec.slug == slug:
            return spec
    raise KeyError(slug)


def scope_regions(spec: ResourceSpec, regions: list[str]) -> list[str]:
    """Global types are scanned once per account, under the ``global`` region."""
    return [GLOBAL_REGION] if spec.is_global else list(regions)
