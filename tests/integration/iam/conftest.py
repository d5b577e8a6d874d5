"""One IAM-enforcing emulator for the least-privilege tests: the synthesized roles, a seeded member fleet."""

from __future__ import annotations

import contextlib
import inspect
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from inventory_cli.provision import provision
from inventory_cli.runtime import register_accounts
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.topology import Topology, build_topology
from scanner import member_role

from tests.conftest import unique_accounts
from tests.integration.iam.harness import (
    ACCOUNT,
    REGION,
    ROLE_ATTRIBUTES,
    Resolver,
    StrictMoto,
    admin_client,
    assume,
    create_user,
    environment,
)

ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BIG_TAGS = [{"Key": f"k{i:02d}-{'x' * 16}", "Value": "v" * 250} for i in range(40)]
"""An instance whose raw item alone is larger than a 20 kB page: the scanner takes the claim-check path."""


@dataclass
class Synth:
    template: dict[str, Any]
    role_ids: dict[str, str]


def synthesize(out: Path) -> Synth:
    """Synthesize the real InventoryStack (no Docker, no bundling: code assets point at an empty directory)."""
    import aws_cdk as cdk
    from infra.stacks.inventory_stack import InventoryStack

    kwargs: dict[str, Any] = {}
    if "artifacts" in inspect.signature(InventoryStack.__init__).parameters:
        from infra.stacks.artifacts import DOCKERFILES, Artifacts

        code = out / "code"
        code.mkdir(parents=True, exist_ok=True)
        (code / "placeholder.py").write_text("")
        # A tiny image build context (only the Dockerfiles' paths): synth copies it instead of the repo.
        context = out / "context"
        for dockerfile in DOCKERFILES.values():
            (context / dockerfile).parent.mkdir(parents=True, exist_ok=True)
            (context / dockerfile).write_text("FROM scratch\n")
        kwargs["artifacts"] = Artifacts(repo_root=context, bundle_dir=lambda _package: code)
    app = cdk.App(outdir=str(out / "cdk.out"))
    stack = InventoryStack(app, "IamProof", env=cdk.Environment(account=ACCOUNT, region=REGION), **kwargs)
    role_ids = {
        service: stack.get_logical_id(getattr(stack, attr).node.default_child)
        for service, attr in ROLE_ATTRIBUTES.items()
        if getattr(stack, attr, None) is not None
    }
    template = app.synth().get_stack_by_name("IamProof").template
    return Synth(template=template, role_ids=role_ids)


@dataclass
class Member:
    account: Account
    instance_id: str


@dataclass
class World:
    """The enforcing emulator, the stack's environment, and who may do what there."""

    server: StrictMoto
    topology: Topology
    stack_env: dict[str, str]
    admin: dict[str, str]
    harness: dict[str, str]
    role_arns: dict[str, str]
    role_policies: dict[str, list[dict[str, Any]]]
    members: list[Member]
    state_dir: Path
    log: Path
    missing_roles: list[str] = field(default_factory=list)

    def refusals(self) -> list[str]:
        """The emulator's log lines of refused requests so far (to explain a failure)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line.strip() for line in lines if line.startswith("REFUSED")]

    def credentials(self, service: str) -> dict[str, str]:
        if service in self.missing_roles:
            pytest.skip(f"the synthesized stack declares no {service} role yet ({ROLE_ATTRIBUTES[service]})")
        return assume(self.server.endpoint, self.harness, self.role_arns[service])

    @contextlib.contextmanager
    def as_service(self, service: str, **extra: str) -> Iterator[dict[str, str]]:
        """The process environment of ``service`` running under its role (subprocesses inherit it)."""
        creds = self.credentials(service)
        values: dict[str, str | None] = {
            "AWS_ENDPOINT_URL": self.server.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **self.stack_env,
            **creds,
            **extra,
        }
        with environment(values):
            yield creds

    def admin_client(self, service: str) -> Any:
        return admin_client(self.server.endpoint, service, self.admin)

    def client_as(self, service: str, creds: dict[str, str]) -> Any:
        return admin_client(self.server.endpoint, service, creds)


def _seed_member(endpoint: str, account_id: str) -> str:
    """A small account: an instance with huge tags (claim check), a bucket, a table, a queue, a topic, a
    function, a cluster, a log group, a key, and a load balancer (tag enricher) on the default VPC."""
    testing = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    def c(service: str) -> Any:
        return admin_client(endpoint, service, testing, account=account_id)

    ec2 = c("ec2")
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": BIG_TAGS}],
    )["Instances"][0]["InstanceId"]
    c("s3").create_bucket(Bucket=f"member-{account_id}")
    c("s3").put_bucket_tagging(Bucket=f"member-{account_id}", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    c("dynamodb").create_table(
        TableName="orders",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    c("sqs").create_queue(QueueName="jobs")
    c("sns").create_topic(Name="alerts")
    c("ecs").create_cluster(clusterName="apps")
    c("logs").create_log_group(logGroupName="/apps/web")
    c("kms").create_key(Description="data")
    role = c("iam").create_role(
        RoleName="fn-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    c("lambda").create_function(
        FunctionName="web",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    c("elbv2").create_load_balancer(Name="web", Subnets=subnets, Type="application", Scheme="internal")
    return str(instance)


def resolve_member_template(value: Any, parameters: dict[str, str]) -> Any:
    """Resolve the member template's Ref / Fn::If / Fn::Not / Fn::Equals against ``parameters``."""
    if isinstance(value, list):
        return [resolve_member_template(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return parameters[value["Ref"]]
    if set(value) == {"Fn::If"}:
        condition, yes, no = value["Fn::If"]
        template = member_role.template()
        chosen = resolve_member_template(template["Conditions"][condition], parameters)
        return resolve_member_template(yes if chosen else no, parameters)
    if set(value) == {"Fn::Not"}:
        return not resolve_member_template(value["Fn::Not"][0], parameters)
    if set(value) == {"Fn::Equals"}:
        left, right = resolve_member_template(value["Fn::Equals"], parameters)
        return left == right
    return {k: resolve_member_template(v, parameters) for k, v in value.items()}


def create_member_role(endpoint: str, account_id: str, parameters: dict[str, str]) -> None:
    """NucleusAccess-Inventory in ``account_id``, exactly as the member template declares it."""
    template = member_role.template()
    role = resolve_member_template(template["Resources"]["InventoryRole"]["Properties"], parameters)
    iam = admin_client(endpoint, "iam", {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}, account=account_id)
    iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]))
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            assert resource["Properties"]["Roles"] == [{"Ref": "InventoryRole"}]
            arn = iam.create_policy(
                PolicyName=logical_id, PolicyDocument=json.dumps(resource["Properties"]["PolicyDocument"])
            )["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)


@pytest.fixture(scope="session")
def iam_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("iam")
    synth = synthesize(base)
    server = StrictMoto.start(base / "moto.log")
    try:
        testing = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": None}
        with environment({"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": REGION, **testing}):
            topology = build_topology(ACCOUNT, REGION)
            stack_env = provision(AwsClientFactory(REGION), topology, state_dir=base / "state", catalog="s3tables")
            iam = admin_client(server.endpoint, "iam", {k: v for k, v in testing.items() if v})
            admin = create_user(iam, "admin", ALL)
            harness = create_user(
                iam,
                "harness",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"}
                    ],
                },
            )
            harness_arn = f"arn:aws:iam::{ACCOUNT}:user/harness"
            resolver = Resolver(
                synth.template, table_bucket_arns={topology.table_bucket: stack_env["ICEBERG_TABLE_BUCKET_ARN"]}
            )
            for logical_id, resource in synth.template["Resources"].items():
                if resource["Type"] == "AWS::IAM::Role":
                    resolver.role_names[logical_id] = f"proof-{logical_id}"[:64]
            role_arns: dict[str, str] = {}
            role_policies: dict[str, list[dict[str, Any]]] = {}
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": harness_arn}, "Action": "sts:AssumeRole"}],
            }
            for service, logical_id in synth.role_ids.items():
                name = resolver.role_names[logical_id]
                role_arns[service] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                    "Arn"
                ]
                role_policies[service] = resolver.role_policies(logical_id)
                for n, document in enumerate(role_policies[service]):
                    iam.put_role_policy(RoleName=name, PolicyName=f"p{n}", PolicyDocument=json.dumps(document))
            members: list[Member] = []
            for account_id in unique_accounts(2):
                external_id = f"ext-{uuid.uuid4().hex[:12]}"
                parameters = {
                    "ScannerRoleArn": role_arns["scanner"],
                    "ExternalId": external_id,
                    "AccessCheckRoleArn": "",
                }
                create_member_role(server.endpoint, account_id, parameters)
                instance = _seed_member(server.endpoint, account_id)
                account = Account(
                    account_id,
                    f"member {account_id}",
                    True,
                    role_name=member_role.ROLE_NAME,
                    external_id=external_id,
                )
                members.append(Member(account, instance))
            register_accounts(AwsClientFactory(REGION), topology.table.name, [m.account for m in members])
        server.enforce()
        yield World(
            server=server,
            topology=topology,
            stack_env=stack_env,
            admin=admin,
            harness=harness,
            role_arns=role_arns,
            role_policies=role_policies,
            members=members,
            state_dir=base / "state",
            log=base / "moto.log",
            missing_roles=[s for s in ROLE_ATTRIBUTES if s not in synth.role_ids],
        )
    finally:
        server.stop()
