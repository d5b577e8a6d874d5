"""What the stack's task definition sets reaches the scanner: SCAN_REQUEST, public IPs for shards, namespace."""

from __future__ import annotations

import pytest
from inventory_core.topology import METRICS_NAMESPACE
from scanner.adapters.emf_metrics import EmfScanMetrics
from scanner.adapters.shards import EcsShardLauncher
from scanner.settings import ScannerSettings

BASE = {"APP_TABLE_NAME": "t", "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:e"}


def test_shard_tasks_get_a_public_ip_when_the_stack_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**BASE, "ECS_ASSIGN_PUBLIC_IP": "true", "SCAN_REQUEST": '{"x": 1}'}.items():
        monkeypatch.setenv(key, value)
    settings = ScannerSettings()
    assert settings.ecs_assign_public_ip is True
    assert settings.scan_request == '{"x": 1}'
    launcher = EcsShardLauncher(
        None,
        cluster="c",
        task_definition="td",
        container="scanner",
        subnets=["s"],
        security_groups=["g"],
        assign_public_ip=settings.ecs_assign_public_ip,
    )
    assert launcher._network["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"


def test_shard_tasks_stay_private_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    settings = ScannerSettings()
    launcher = EcsShardLauncher(
        None, cluster="c", task_definition="td", container="scanner", subnets=["s"], security_groups=[]
    )
    assert settings.ecs_assign_public_ip is False
    assert launcher._network["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"


def test_scanner_metrics_use_the_one_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    assert ScannerSettings().metrics_namespace == METRICS_NAMESPACE == "AwsAutoDiscovery"
    assert EmfScanMetrics()._namespace == METRICS_NAMESPACE
