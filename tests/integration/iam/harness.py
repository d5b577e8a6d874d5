"""The least-privilege harness: the synthesized roles, created on a dedicated moto server with IAM enforcement.

One moto server process (``strict_moto.py``) per test module, because moto's enforcement switch is
global to the server. While enforcement is still off the harness provisions the topology with the
deployment's names (no prefix), creates each service role from the policies of the synthesized
template (CloudFormation intrinsics resolved to the emulator's names and ARNs), the member accounts'
NucleusAccess-Inventory roles from the member template, and two IAM users: ``harness`` (may only assume
the roles) and ``admin`` (everything; used to check results). Then enforcement goes on.

What differs from AWS, on purpose: a service role's trust policy names the harness user instead of the
AWS service principal (``lambda.amazonaws.com`` cannot be impersonated here), and AWS managed policies
(AWSLambdaBasicExecutionRole: CloudWatch Logs only) are not attached, since no code path calls Logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from inventory_cli.moto_server import free_port, is_up

ACCOUNT = "123456789012"
REGION = "us-east-1"
STRICT_MOTO = Path(__file__).with_name("strict_moto.py")

ROLE_ATTRIBUTES = {
    "scanner": "scanner_task_role",
    "projector": "projector_role",
    "lake-writer": "lake_writer_role",
    "archiver": "archiver_role",
    "api": "api_role",
    "launch-failed": "launch_failed_role",
}
"""Each service and the InventoryStack attribute holding its role."""


@dataclass
class StrictMoto:
    """The dedicated server process."""

    endpoint: str
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, log: Path) -> StrictMoto:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, str(STRICT_MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out, env=env
            )
        server = cls(f"http://127.0.0.1:{port}", process)
        deadline = time.monotonic() + 60
        while not is_up(server.endpoint, 0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"strict moto did not start; see {log}")
            time.sleep(0.1)
        return server

    def enforce(self, on: bool = True) -> None:
        """Switch IAM enforcement on (every request authenticated and authorized) or off."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- the synthesized template -------------------------------------------------------------------------


@dataclass
class Resolver:
    """Resolves CloudFormation intrinsics to the emulator's names and ARNs (deployment names: no prefix)."""

    template: Mapping[str, Any]
    role_names: dict[str, str] = field(default_factory=dict)
    table_bucket_arns: dict[str, str] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)

    def _resource(self, logical_id: str) -> tuple[str, dict[str, Any]]:
        resource = self.template["Resources"].get(logical_id)
        if resource is None:
            raise KeyError(f"no resource {logical_id} in the template")
        return str(resource["Type"]), dict(resource.get("Properties", {}))

    def ref(self, logical_id: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        type_, props = self._resource(logical_id)
        match type_:
            case "AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable":
                return str(props["TableName"])
            case "AWS::SNS::Topic":
                return f"arn:aws:sns:{REGION}:{ACCOUNT}:{props['TopicName']}"
            case "AWS::SQS::Queue":
                return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{props['QueueName']}"
            case "AWS::S3::Bucket":
                return str(props["BucketName"])
            case "AWS::S3Tables::TableBucket":
                return self.attribute(logical_id, "TableBucketARN")
            case "AWS::IAM::Role":
                return self.role_names.get(logical_id, str(props.get("RoleName", logical_id)))
            case "AWS::ECS::Cluster":
                return str(props.get("ClusterName", logical_id))
            case "AWS::ECS::TaskDefinition":
                family = props.get("Family", logical_id)
                return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1"
            case "AWS::Logs::LogGroup":
                return str(props.get("LogGroupName", logical_id))
        self.unresolved.append(logical_id)
        return f"unresolved-{logical_id}"

    def attribute(self, logical_id: str, name: str) -> str:
        type_, props = self._resource(logical_id)
        match type_, name:
            case ("AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable", "Arn"):
                return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{props['TableName']}"
            case ("AWS::SNS::Topic", "TopicArn"):
                return self.ref(logical_id)
            case ("AWS::SQS::Queue", "Arn"):
                return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{props['QueueName']}"
            case ("AWS::SQS::Queue", "QueueName"):
                return str(props["QueueName"])
            case ("AWS::S3::Bucket", "Arn"):
                return f"arn:aws:s3:::{props['BucketName']}"
            case ("AWS::S3Tables::TableBucket", "TableBucketARN"):
                name_ = str(props["TableBucketName"])
                return self.table_bucket_arns.get(name_, f"arn:aws:s3tables:{REGION}:{ACCOUNT}:bucket/{name_}")
            case ("AWS::IAM::Role", "Arn"):
                return f"arn:aws:iam::{ACCOUNT}:role/{self.ref(logical_id)}"
            case ("AWS::ECS::Cluster", "Arn"):
                return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{self.ref(logical_id)}"
            case ("AWS::Logs::LogGroup", "Arn"):
                return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{props.get('LogGroupName', logical_id)}:*"
        # Something no service code calls on the emulator (alarms, dashboards ...): an ARN that matches nothing.
        self.unresolved.append(f"{logical_id}.{name}")
        return f"arn:aws:unresolved:{REGION}:{ACCOUNT}:{logical_id}/{name}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, name = value["Fn::GetAtt"]
            return self.attribute(logical_id, name)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self.resolve(p)) for p in parts)
        if set(value) == {"Fn::Select"}:
            index, items = value["Fn::Select"]
            return self.resolve(items)[int(index)]
        if set(value) == {"Fn::Split"}:
            separator, text = value["Fn::Split"]
            return str(self.resolve(text)).split(separator)
        if any(k.startswith("Fn::") for k in value):
            raise ValueError(f"unsupported intrinsic {value}")
        return {k: self.resolve(v) for k, v in value.items()}

    def role_policies(self, role_logical_id: str) -> list[dict[str, Any]]:
        """Every identity policy document attached to the role in the template, resolved."""
        documents: list[dict[str, Any]] = []
        _, props = self._resource(role_logical_id)
        documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for resource in self.template["Resources"].values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                roles = resource["Properties"].get("Roles", [])
                if {"Ref": role_logical_id} in roles:
                    documents.append(resource["Properties"]["PolicyDocument"])
        return [self.resolve(d) for d in documents]


def managed_policy_arns(template: Mapping[str, Any], role_logical_id: str) -> list[Any]:
    return list(template["Resources"][role_logical_id].get("Properties", {}).get("ManagedPolicyArns", []))


# --- credentials ----------------------------------------------------------------------------------------


def admin_client(endpoint: str, service: str, keys: Mapping[str, str], *, account: str | None = None) -> Any:
    client = boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys.get("AWS_SESSION_TOKEN"),
    )
    if account:
        client.meta.events.register(
            "before-send.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
        )
    return client


def create_user(iam: Any, name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def assume(endpoint: str, caller: Mapping[str, str], role_arn: str, **extra: Any) -> dict[str, str]:
    creds = admin_client(endpoint, "sts", caller).assume_role(RoleArn=role_arn, RoleSessionName="iam-proof", **extra)[
        "Credentials"
    ]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or unset, for None) environment variables for the block; restore them afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, following ``raise ... from`` chains (our adapters wrap them)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            return str(seen.response.get("Error", {}).get("Code", ""))
        seen = seen.__cause__
    return ""


DENIED = ("AccessDenied", "AccessDeniedException", "403")
