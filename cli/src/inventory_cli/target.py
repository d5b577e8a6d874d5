"""Where the `inventory` command points: real AWS by default, the local stack only when asked.

Real AWS uses boto3's standard credential chain and region (an ``AWS_ENDPOINT_URL`` already in the
environment is the operator's own choice and is honoured). The local stack's environment file
(``.inventory/local/local.env``) is read only with ``inventory --local ...`` or ``INVENTORY_TARGET=local``
(and by ``inventory local ...`` and ``inventory demo``), so a stale file never redirects a real-AWS command.
Every command that touches AWS first prints, on stderr, the endpoint, account and identity it uses.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from inventory_core.aws import endpoint_url
from inventory_core.topology import Topology, build_topology

TARGET_ENV = "INVENTORY_TARGET"
STAGE_ENV = "INVENTORY_STAGE"


class TargetError(RuntimeError):
    """The chosen target cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    kind: str  # "aws" or "local"
    endpoint: str
    region: str
    account_id: str
    identity_arn: str

    def line(self) -> str:
        where = "local stack" if self.kind == "local" else "AWS"
        return f"target: {where} {self.endpoint} account {self.account_id} region {self.region} as {self.identity_arn}"


def wants_local(environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get(TARGET_ENV, "aws").strip().lower()
    if value not in ("aws", "local"):
        raise TargetError(f"{TARGET_ENV} must be aws or local, not {value!r}")
    return value == "local"


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


def use_local(env_file: Path) -> None:
    """Point this process at the running local stack (its env file wins over the shell's AWS settings)."""
    if not env_file.exists():
        raise TargetError(f"no local stack: {env_file} does not exist (start one with `inventory local up`)")
    os.environ.update(read_env_file(env_file))


def stack_environment(topology: Topology, account_id: str, region: str) -> dict[str, str]:
    """The deployed stack's resource names, derived from the topology (names are ``<stage>-<purpose>``)."""
    env = {
        "APP_TABLE_NAME": topology.table.name,
        "AUDIT_TABLE_NAME": topology.audit_table.name,
        "EVENTS_TOPIC_ARN": f"arn:aws:sns:{region}:{account_id}:{topology.topic_name}",
        "INVENTORY_BUCKET": topology.bucket.name,
    }
    for spec in topology.queues:
        key = spec.name.removeprefix(topology.prefix).upper().replace("-", "_")
        env[f"{key}_QUEUE_URL"] = f"https://sqs.{region}.amazonaws.com/{account_id}/{spec.name}"
    return env


def resolve(local: bool, env_file: Path) -> Target:
    """Choose the target, load its environment, and ask STS who we are there."""
    if local:
        use_local(env_file)
    session = boto3.Session()
    region = session.region_name or os.environ.get("AWS_DEFAULT_REGION") or ""
    if not region:
        raise TargetError("no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or configure a profile's region")
    sts = session.client("sts", region_name=region, endpoint_url=endpoint_url("sts"))
    endpoint = str(sts.meta.endpoint_url)
    where = "local stack" if local else "AWS"
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError as exc:
        hint = "" if local else " (for the local stack pass --local)"
        raise TargetError(f"{where} {endpoint}: no AWS credentials in the standard chain{hint}") from exc
    except (ClientError, BotoCoreError) as exc:
        raise TargetError(f"{where} {endpoint}: sts:GetCallerIdentity failed: {exc}") from exc
    target = Target(
        kind="local" if local else "aws",
        endpoint=endpoint,
        region=region,
        account_id=str(identity["Account"]),
        identity_arn=str(identity["Arn"]),
    )
    if not local and not os.environ.get("APP_TABLE_NAME"):
        topology = build_topology(target.account_id, region, prefix=_stage_prefix())
        for key, value in stack_environment(topology, target.account_id, region).items():
            os.environ.setdefault(key, value)
    return target


def _stage_prefix() -> str:
    stage = os.environ.get(STAGE_ENV, "").strip()
    return f"{stage}-" if stage else ""


def announce(target: Target) -> None:
    print(target.line(), file=sys.stderr, flush=True)
