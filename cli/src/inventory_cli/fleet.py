"""Fleet simulator: seeds simulated AWS target accounts into a running local AWS (moto or LocalStack).

Each member account is reached the way AWS itself does it: ``sts:AssumeRole`` into
``arn:aws:iam::<account>:role/OrganizationAccountAccessRole`` and clients built from the temporary
credentials. Both emulators put a request in the account of the assumed role (moto: EMULATOR.md
section 2; LocalStack: its multi-account namespacing), and neither needs that role to exist while
IAM enforcement is off, so no emulator-only header is involved. The endpoint comes from
``AWS_ENDPOINT_URL``, which boto3 reads by itself.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_s3 import S3Client

TRD_TYPES = ("ec2", "ecs", "lambda", "rds", "dynamodb", "s3", "vpc", "elbv2")

INVENTORY_ACCOUNT_ID = "123456789012"
# The role AWS Organizations creates in every member account it creates; seeding assumes it.
SEED_ROLE_NAME = "OrganizationAccountAccessRole"
# Assumed credentials are reused until this close to their expiry.
_CREDENTIALS_MARGIN_S = 300
_AMI = "ami-12c6146b"
# RunInstances caps MaxCount per call; moto also puts a whole batch in one reservation.
_EC2_BATCH = 100
# moto serves every request from one GIL-bound process, so more threads than this only add contention (measured).
_MAX_WORKERS = 4
_TEAMS = ("platform", "payments", "data", "search")
# Types that need the per-cell VPC, subnets and security group.
_NETWORKED = frozenset({"ec2", "ecs", "elbv2", "vpc"})
_PREFIX = re.compile(r"([a-z][a-z0-9-]{0,23})?")

_READ_ONLY_ACTIONS = (
    "ec2:Describe*",
    "ecs:Describe*",
    "ecs:List*",
    "lambda:Get*",
    "lambda:List*",
    "rds:Describe*",
    "rds:ListTagsForResource",
    "dynamodb:DescribeTable",
    "dynamodb:ListTables",
    "dynamodb:ListTagsOfResource",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetBucketTagging",
    "elasticloadbalancing:Describe*",
    "tag:GetResources",
    "sts:GetCallerIdentity",
)

# boto3's default session is not safe to build clients from several threads at once.
_CLIENT_LOCK = threading.Lock()


@dataclass(frozen=True)
class FleetAccount:
    account_id: str
    name: str
    role_name: str


@dataclass
class Fleet:
    accounts: list[FleetAccount]
    regions: list[str]
    arns: dict[str, set[str]]

    def arns_of(self, *types: str) -> set[str]:
        out: set[str] = set()
        for slug in types:
            out |= self.arns.get(slug, set())
        return out


@dataclass(frozen=True)
class _Network:
    vpc_id: str
    subnet_ids: tuple[str, str]
    security_group_id: str


@dataclass(frozen=True)
class _Cell:
    account: FleetAccount
    region: str
    counts: Mapping[str, int]
    prefix: str
    lambda_role_arn: str

    @property
    def env(self) -> str:
        return _slug(self.account.name) or "dev"

    def tags(self, name: str, index: int) -> list[Any]:
        # Any: each boto3-stubs service declares its own Tag TypedDict, all shaped {Key, Value}.
        return [
            {"Key": "Name", "Value": name},
            {"Key": "env", "Value": self.env},
            {"Key": "team", "Value": _TEAMS[index % len(_TEAMS)]},
        ]

    def client(self, service: str) -> Any:
        return client_in_account(service, self.account.account_id, self.region)


def client_in_account(service: str, account_id: str, region: str) -> Any:
    """Return a boto3 client acting in ``account_id`` through credentials of an assumed member-account role."""
    credentials = _member_credentials(account_id)
    with _CLIENT_LOCK:
        # Any: the stubs only type boto3.client for literal service names.
        client: Any = boto3.client(
            cast("Any", service),
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return client


_ASSUMED: dict[tuple[str, str], dict[str, Any]] = {}
_ASSUMED_LOCK = threading.Lock()


def _member_credentials(account_id: str) -> dict[str, Any]:
    """Temporary credentials in ``account_id`` (AssumeRole into its SEED_ROLE_NAME), cached per endpoint."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    key = (endpoint, account_id)
    with _ASSUMED_LOCK:
        cached = _ASSUMED.get(key)
        if (
            cached
            and cached["Expiration"].timestamp() - time.time() > _CREDENTIALS_MARGIN_S
            and _acts_in(cached, account_id)
        ):
            return cached
        with _CLIENT_LOCK:
            sts: Any = boto3.client("sts", region_name="us-east-1")
        credentials: dict[str, Any] = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{SEED_ROLE_NAME}", RoleSessionName="inventory-fleet-seed"
        )["Credentials"]
        _ASSUMED[key] = credentials
        return credentials


def _acts_in(credentials: dict[str, Any], account_id: str) -> bool:
    """Whether cached credentials still act in ``account_id``: an emulator restarted on the same endpoint (a
    new server on a reused port) no longer knows them and maps them to its default account."""
    with _CLIENT_LOCK:
        sts: Any = boto3.client(
            "sts",
            region_name="us-east-1",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    try:
        return str(sts.get_caller_identity()["Account"]) == account_id
    except Exception:  # any refusal (unknown key, expired) means: assume the role again
        return False


def seed_fleet(
    accounts: Sequence[tuple[str, str]],
    regions: Sequence[str],
    resources: int,
    *,
    prefix: str = "",
    role_name: str = "NucleusAccess-Inventory",
    types: Sequence[str] = TRD_TYPES,
    progress: Callable[[str], None] | None = None,
) -> Fleet:
    """Create about ``resources`` resources spread over accounts x regions x types; return the truth."""
    say = progress or (lambda _msg: None)
    unknown = set(types) - set(TRD_TYPES)
    if unknown:
        raise ValueError(f"unknown resource types: {sorted(unknown)}")
    if not accounts or not regions or not types:
        raise ValueError("need at least one account, one region and one type")
    # The prefix lands in bucket names (lowercase), RDS identifiers (start with a letter) and ALB names (32 chars).
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"prefix {prefix!r} must be empty or a lowercase letter then up to 23 of [a-z0-9-]")
    bad_ids = [account_id for account_id, _ in accounts if not re.fullmatch(r"\d{12}", account_id)]
    if bad_ids:
        raise ValueError(f"account ids must be 12 digits: {bad_ids}")
    wanted = list(dict.fromkeys(types))
    fleet_accounts = [FleetAccount(account_id, name, role_name) for account_id, name in accounts]
    cell_counts, bucket_regions = _plan([a.account_id for a in fleet_accounts], list(regions), resources, wanted)
    arns: dict[str, set[str]] = {slug: set() for slug in wanted}
    started = time.monotonic()

    # The account the caller's own credentials are in (moto's default is INVENTORY_ACCOUNT_ID).
    inventory_account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
    with ThreadPoolExecutor(max_workers=_MAX_WORKERS) as pool:
        lambda_roles = dict(
            zip(
                [a.account_id for a in fleet_accounts],
                pool.map(lambda a: _seed_iam(a, prefix, inventory_account), fleet_accounts),
                strict=True,
            )
        )
        say(f"iam roles ready in {len(fleet_accounts)} accounts")

        jobs: dict[Future[dict[str, set[str]]], str] = {}
        for account in fleet_accounts:
            for region in regions:
                counts = cell_counts[(account.account_id, region)]
                cell = _Cell(account, region, counts, prefix, lambda_roles[account.account_id])
                jobs[pool.submit(_seed_cell, cell)] = f"{account.account_id}/{region}"
            if bucket_regions[account.account_id]:
                job = pool.submit(_seed_buckets, account, bucket_regions[account.account_id], prefix)
                jobs[job] = f"{account.account_id}/s3"
        for done, job in enumerate(as_completed(jobs), start=1):
            for slug, found in job.result().items():
                arns[slug] |= found
            say(f"seeded {jobs[job]} ({done}/{len(jobs)})")

        if "vpc" in arns:
            # moto adds a default VPC per account and region on first EC2 use, so the truth is what a listing sees.
            listings = [
                pool.submit(_list_vpc_arns, account.account_id, region)
                for account in fleet_accounts
                for region in regions
            ]
            for listing in listings:
                arns["vpc"] |= listing.result()

    total = sum(len(found) for found in arns.values())
    say(f"fleet ready: {total} resources in {time.monotonic() - started:.1f}s")
    return Fleet(accounts=fleet_accounts, regions=list(regions), arns=arns)


def _plan(
    account_ids: list[str], regions: list[str], resources: int, types: list[str]
) -> tuple[dict[tuple[str, str], dict[str, int]], dict[str, list[str]]]:
    """Split the budget: per type, then over (account, region) cells, or over accounts for global S3."""
    # Accounts vary fastest so any A consecutive cells cover every account once.
    cells = [(account_id, region) for region in regions for account_id in account_ids]
    cell_counts: dict[tuple[str, str], dict[str, int]] = {cell: {} for cell in cells}
    bucket_regions: dict[str, list[str]] = {account_id: [] for account_id in account_ids}
    for type_index, (slug, budget) in enumerate(zip(types, _spread(resources, len(types)), strict=True)):
        if slug == "s3":
            for account_index, (account_id, count) in enumerate(
                zip(account_ids, _spread(budget, len(account_ids)), strict=True)
            ):
                bucket_regions[account_id] = [regions[(account_index + k) % len(regions)] for k in range(count)]
            continue
        # Rotating by whole rows of accounts keeps the "every account gets one" property while the
        # remainders of different types land in different regions.
        shift = (type_index * len(account_ids)) % len(cells)
        for cell, count in zip(cells[shift:] + cells[:shift], _spread(budget, len(cells)), strict=True):
            cell_counts[cell][slug] = count
    return cell_counts, bucket_regions


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(max(total, 0), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _seed_iam(account: FleetAccount, prefix: str, inventory_account: str) -> str:
    """Create the inventory role (trusted by ``inventory_account``) and a Lambda execution role; return its ARN."""
    iam: IAMClient = client_in_account("iam", account.account_id, "us-east-1")
    _ensure_role(iam, account.role_name, {"AWS": f"arn:aws:iam::{inventory_account}:root"})
    iam.put_role_policy(
        RoleName=account.role_name,
        PolicyName="InventoryReadOnly",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": list(_READ_ONLY_ACTIONS), "Resource": "*"}],
            }
        ),
    )
    return _ensure_role(iam, f"{prefix}fleet-lambda-exec", {"Service": "lambda.amazonaws.com"})


def _ensure_role(iam: IAMClient, name: str, principal: dict[str, str]) -> str:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )
    # Several fleets may share an account on one server (the inventory role name is not prefixed).
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def _seed_cell(cell: _Cell) -> dict[str, set[str]]:
    counts = cell.counts
    found: dict[str, set[str]] = {}
    network: _Network | None = None
    if any(counts.get(slug, 0) for slug in _NETWORKED):
        ec2: EC2Client = cell.client("ec2")
        network = _create_network(ec2, cell)
        # The network VPC is one of this cell's VPCs; the vpc truth itself comes from a listing later.
        _create_extra_vpcs(ec2, cell, counts.get("vpc", 0) - 1)
        if counts.get("ec2", 0):
            found["ec2"] = _seed_instances(ec2, cell, network, counts["ec2"])
    if network and counts.get("ecs", 0):
        found["ecs"] = _seed_ecs(cell.client("ecs"), cell, network, counts["ecs"])
    if network and counts.get("elbv2", 0):
        found["elbv2"] = _seed_load_balancers(cell.client("elbv2"), cell, network, counts["elbv2"])
    if counts.get("lambda", 0):
        found["lambda"] = _seed_functions(cell.client("lambda"), cell, counts["lambda"])
    if counts.get("rds", 0):
        found["rds"] = _seed_databases(cell.client("rds"), cell, counts["rds"])
    if counts.get("dynamodb", 0):
        found["dynamodb"] = _seed_tables(cell.client("dynamodb"), cell, counts["dynamodb"])
    return found


def _create_network(ec2: EC2Client, cell: _Cell) -> _Network:
    name = f"{cell.prefix}fleet-vpc"
    vpc_id = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": cell.tags(name, 0)}],
    )["Vpc"]["VpcId"]
    # ECS run_task on moto fails with AttributeError unless the VPC has DNS hostnames on.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    # /20, not /24: moto raises StopIteration (HTTP 500) once a /24 runs out of addresses.
    subnets = tuple(
        ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=f"10.0.{16 * i}.0/20",
            AvailabilityZone=zone,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": cell.tags(f"{name}-{zone}", i)}],
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate(zones)
    )
    sg_id = ec2.create_security_group(
        GroupName=f"{cell.prefix}fleet-sg", Description="fleet simulator workloads", VpcId=vpc_id
    )["GroupId"]
    return _Network(vpc_id=vpc_id, subnet_ids=(subnets[0], subnets[1]), security_group_id=sg_id)


def _create_extra_vpcs(ec2: EC2Client, cell: _Cell, count: int) -> None:
    for i in range(count):
        ec2.create_vpc(
            CidrBlock=f"10.{1 + i % 250}.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": cell.tags(f"{cell.prefix}vpc-{i:03d}", i)}],
        )


def _seed_instances(ec2: EC2Client, cell: _Cell, network: _Network, count: int) -> set[str]:
    ids: list[str] = []
    halves = _spread(count, 2)
    for subnet_id, in_subnet in zip(network.subnet_ids, halves, strict=True):
        for start in range(0, in_subnet, _EC2_BATCH):
            batch = min(_EC2_BATCH, in_subnet - start)
            reservation = ec2.run_instances(
                ImageId=_AMI,
                InstanceType="t3.micro",
                MinCount=batch,
                MaxCount=batch,
                SubnetId=subnet_id,
                SecurityGroupIds=[network.security_group_id],
                TagSpecifications=[{"ResourceType": "instance", "Tags": cell.tags(f"{cell.prefix}web", len(ids))}],
            )
            ids += [instance["InstanceId"] for instance in reservation["Instances"]]
    # One RunInstances call shares its tags, so names and teams are set per instance afterwards.
    for index, instance_id in enumerate(ids):
        ec2.create_tags(Resources=[instance_id], Tags=cell.tags(f"{cell.prefix}web-{index:03d}", index))
    # Some stopped instances give the normalizers more than one state to read.
    stopped = ids[3::4]
    if stopped:
        ec2.stop_instances(InstanceIds=stopped)
    return {f"arn:aws:ec2:{cell.region}:{cell.account.account_id}:instance/{i}" for i in ids}


def _seed_ecs(ecs: ECSClient, cell: _Cell, network: _Network, count: int) -> set[str]:
    cluster = f"{cell.prefix}fleet-cluster"
    ecs.create_cluster(clusterName=cluster, tags=_lower_tags(cell.tags(cluster, 0)))
    task_definition = ecs.register_task_definition(
        family=f"{cell.prefix}fleet-app",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        # A container-level memory is required by moto's run_task (TypeError otherwise).
        containerDefinitions=[{"name": "app", "image": "nginx:latest", "essential": True, "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    arns: set[str] = set()
    for i in range(count):
        name = f"{cell.prefix}svc-{i:03d}"
        service = ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=task_definition,
            desiredCount=1,
            launchType="FARGATE",
            # moto raises KeyError (HTTP 500) for an awsvpc configuration without securityGroups.
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(network.subnet_ids),
                    "securityGroups": [network.security_group_id],
                    "assignPublicIp": "DISABLED",
                }
            },
            tags=_lower_tags(cell.tags(name, i)),
        )
        arns.add(service["service"]["serviceArn"])
    return arns


def _lower_tags(tags: list[Any]) -> list[Any]:
    return [{"key": tag["Key"], "value": tag["Value"]} for tag in tags]


def _seed_load_balancers(elbv2: ElasticLoadBalancingv2Client, cell: _Cell, network: _Network, count: int) -> set[str]:
    arns: set[str] = set()
    for i in range(count):
        name = f"{cell.prefix}alb-{i:03d}"
        response = elbv2.create_load_balancer(
            Name=name,
            Subnets=list(network.subnet_ids),
            SecurityGroups=[network.security_group_id],
            Scheme="internal",
            Type="application",
            Tags=cell.tags(name, i),
        )
        arns.update(lb["LoadBalancerArn"] for lb in response["LoadBalancers"])
    return arns


def _seed_functions(lam: LambdaClient, cell: _Cell, count: int) -> set[str]:
    arns: set[str] = set()
    for i in range(count):
        name = f"{cell.prefix}fn-{i:03d}"
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=cell.lambda_role_arn,
            Handler="index.handler",
            Code={"ZipFile": _function_zip()},
            Tags={tag["Key"]: tag["Value"] for tag in cell.tags(name, i)},
        )["FunctionArn"]
        # A scan reports the unqualified ARN; drop a ":$LATEST" or version qualifier if one came back.
        arns.add(":".join(arn.split(":")[:7]))
    return arns


@cache
def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _seed_databases(rds: RDSClient, cell: _Cell, count: int) -> set[str]:
    arns: set[str] = set()
    for i in range(count):
        name = f"{cell.prefix}db-{i:03d}"
        instance = rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine=("postgres", "mysql")[i % 2],
            DBInstanceClass="db.t3.micro",
            MasterUsername="fleetadmin",
            MasterUserPassword="fleet-password-1",
            AllocatedStorage=20,
            Tags=cell.tags(name, i),
        )["DBInstance"]
        arns.add(instance["DBInstanceArn"])
    return arns


def _seed_tables(ddb: DynamoDBClient, cell: _Cell, count: int) -> set[str]:
    arns: set[str] = set()
    for i in range(count):
        name = f"{cell.prefix}table-{i:03d}"
        table = ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=cell.tags(name, i),
        )["TableDescription"]
        arns.add(table["TableArn"])
    return arns


def _seed_buckets(account: FleetAccount, regions: list[str], prefix: str) -> dict[str, set[str]]:
    """Create the account's buckets, each in its own region (S3 names are global, so they carry the account id)."""
    clients: dict[str, S3Client] = {}
    env = _slug(account.name) or "dev"
    arns: set[str] = set()
    for i, region in enumerate(regions):
        if region not in clients:
            clients[region] = client_in_account("s3", account.account_id, region)
        s3 = clients[region]
        name = f"{prefix}bkt-{account.account_id}-{i:04d}"
        if region == "us-east-1":
            # us-east-1 rejects an explicit LocationConstraint.
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": cast("Any", region)})
        s3.put_bucket_tagging(
            Bucket=name,
            Tagging={
                "TagSet": [
                    {"Key": "Name", "Value": name},
                    {"Key": "env", "Value": env},
                    {"Key": "team", "Value": _TEAMS[i % len(_TEAMS)]},
                ]
            },
        )
        arns.add(f"arn:aws:s3:::{name}")
    return {"s3": arns}


def _list_vpc_arns(account_id: str, region: str) -> set[str]:
    ec2: EC2Client = client_in_account("ec2", account_id, region)
    return {
        f"arn:aws:ec2:{region}:{account_id}:vpc/{vpc['VpcId']}"
        for page in ec2.get_paginator("describe_vpcs").paginate()
        for vpc in page["Vpcs"]
    }
