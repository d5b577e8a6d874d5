"""Shards as Fargate tasks: ECS RunTask per shard request, on moto's ECS."""

from __future__ import annotations

import uuid

import pytest
from inventory_core.aws import AwsClientFactory
from inventory_events import ScanRequested, Shard
from pydantic import ValidationError
from scanner.adapters.shards import EcsShardLauncher, ShardFailedError
from scanner.bootstrap import shard_launcher
from scanner.settings import ScannerSettings

pytestmark = pytest.mark.emulator


def test_each_shard_becomes_one_fargate_task_carrying_its_request(moto_endpoint: str) -> None:
    # GIVEN a cluster, the scanner's task definition and a VPC (moto needs DNS hostnames for Fargate ENIs)
    clients = AwsClientFactory("us-east-1")
    ec2, ecs = clients.client("ec2"), clients.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/20")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"scanner-{uuid.uuid4().hex[:6]}", Description="s", VpcId=vpc)[
        "GroupId"
    ]
    cluster = f"scan-{uuid.uuid4().hex[:8]}"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=cluster,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="2048",
        containerDefinitions=[{"name": "scanner", "image": "scanner:1", "essential": True, "memory": 2048}],
    )
    launcher = EcsShardLauncher(
        ecs, cluster=cluster, task_definition=cluster, container="scanner", subnets=[subnet], security_groups=[group]
    )
    requests = [
        ScanRequested(
            execution_id="exec-9", account_ids=[f"{i:012d}"], trigger="schedule", shard=Shard(index=i, count=3)
        )
        for i in range(3)
    ]
    # WHEN the execution fans out
    launcher.launch(requests)
    # THEN three Fargate tasks run, each with its own shard request as the container command
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    assert len(tasks) == 3
    commands = [t["overrides"]["containerOverrides"][0]["command"] for t in tasks]
    assert all(c[:4] == ["python", "-m", "scanner", "--request"] for c in commands)
    shards = sorted(ScanRequested.model_validate_json(c[4]).shard.index for c in commands)  # type: ignore[union-attr]
    assert shards == [0, 1, 2]
    assert {t["launchType"] for t in tasks} == {"FARGATE"}


def test_ecs_launcher_is_configuration_and_refuses_an_incomplete_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_TABLE_NAME", "t")
    monkeypatch.setenv("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t")
    monkeypatch.setenv("SHARD_LAUNCHER", "ecs")
    with pytest.raises(ValidationError, match="ECS_CLUSTER, ECS_TASK_DEFINITION, ECS_SUBNETS"):
        ScannerSettings()
    monkeypatch.setenv("ECS_CLUSTER", "c")
    monkeypatch.setenv("ECS_TASK_DEFINITION", "scanner:3")
    monkeypatch.setenv("ECS_SUBNETS", "subnet-1, subnet-2")
    settings = ScannerSettings()
    assert settings.ecs_subnets == ["subnet-1", "subnet-2"]
    assert isinstance(shard_launcher(settings, AwsClientFactory("us-east-1")), EcsShardLauncher)


def test_a_shard_task_that_cannot_start_fails_the_launch(moto_endpoint: str) -> None:
    ecs = AwsClientFactory("us-east-1").client("ecs")
    cluster = f"scan-{uuid.uuid4().hex[:8]}"
    ecs.create_cluster(clusterName=cluster)
    launcher = EcsShardLauncher(
        ecs, cluster=cluster, task_definition="no-such-family:1", container="scanner", subnets=["s"], security_groups=[]
    )
    request = ScanRequested(execution_id="exec-8", trigger="schedule", shard=Shard(index=0, count=1))
    with pytest.raises(ShardFailedError, match="shard 0"):
        launcher.launch([request])
