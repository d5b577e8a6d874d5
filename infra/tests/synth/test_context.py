"""Deployment choices by context: stage prefix, an imported app table, an alarm e-mail, checked values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from infra.stacks.config import ConfigError, StackConfig
from inventory_core.topology import build_topology

EXISTING = "nucleus-app-app-table"


def _config(**context: Any) -> StackConfig:
    return StackConfig.from_context(cdk.App(context=context).node)


def test_no_context_is_the_trd_names_in_a_new_vpc() -> None:
    config = _config()
    assert (config.prefix, config.vpc_id, config.scanner_subnets, config.existing_app_table_name) == (
        "",
        None,
        "public",
        None,
    )


def test_stage_becomes_the_topology_prefix() -> None:
    assert _config(**{"inventory:stage": "dev"}).prefix == "dev-"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"inventory:stage": "Prod_1"}, "inventory:stage"),
        ({"inventory:scannerSubnets": "private"}, "needs inventory:vpcId"),
        ({"inventory:scannerSubnets": "dmz"}, "expected public or private"),
        ({"inventory:alarmEmail": "ops"}, "not an e-mail"),
        ({"inventory:logRetentionDays": "17"}, "expected one of"),
    ],
)
def test_a_bad_context_value_is_refused_naming_its_key(context: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**context)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Template]:
    # conftest's synthesize, without the nag plugin (the session synth runs it): one more synth, ~30 s.
    synthesize = request.getfixturevalue("synthesize_fn")
    config = StackConfig(stage="dev", existing_app_table_name=EXISTING, alarm_email="ops@example.com")
    synth = synthesize(Path(tmp_path_factory.mktemp("staged")), config, nag=False)
    yield Template.from_json(synth.template)


def test_stage_prefixes_every_name(staged: Template) -> None:
    topology = build_topology("123456789012", "us-east-1", prefix="dev-")
    for spec in topology.queues:
        staged.has_resource_properties("AWS::SQS::Queue", {"QueueName": spec.name})
    staged.has_resource_properties("AWS::SNS::Topic", {"TopicName": "dev-inventory-events"})
    staged.has_resource_properties("AWS::Lambda::Function", {"FunctionName": "dev-inventory-api"})
    staged.has_resource_properties("AWS::Scheduler::Schedule", {"Name": "dev-inventory-daily-scan"})
    staged.has_resource_properties("AWS::DynamoDB::Table", {"TableName": topology.audit_table.name})


def test_an_existing_app_table_is_imported_not_created(staged: Template) -> None:
    tables = [t["Properties"]["TableName"] for t in staged.find_resources("AWS::DynamoDB::Table").values()]
    assert tables == ["dev-nucleus-app-audit"]
    _, task = next(iter(staged.find_resources("AWS::ECS::TaskDefinition").items()))
    env = {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert env["APP_TABLE_NAME"] == EXISTING


def test_alarm_email_is_subscribed_to_the_alarm_topic(staged: Template) -> None:
    staged.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
