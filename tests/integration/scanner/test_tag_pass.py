"""The Tagging API pass of a region: tags by ARN, each tag string held once however many resources carry it."""

from __future__ import annotations

import pytest
from inventory_cli.fleet import client_in_account
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from scanner.adapters.aws_session import StsSessionProvider

from tests.conftest import unique_accounts

pytestmark = pytest.mark.emulator


def test_a_region_tag_map_keeps_one_copy_of_each_tag_string(moto_endpoint: str) -> None:
    # GIVEN three queues of one team in an account (the Tagging API answers each with its own strings)
    account = unique_accounts(1)[0]
    sqs = client_in_account("sqs", account, "eu-west-1")
    for i in range(3):
        sqs.create_queue(QueueName=f"q{i}", tags={"team": "payments-platform", "Name": f"q{i}"})
    session = StsSessionProvider(AwsClientFactory("us-east-1"), "NucleusAccess-Inventory").open(
        Account(account, "a", True), "exec-tags"
    )
    # WHEN the region's pass runs
    tags = session.resource_tags("eu-west-1", ["sqs"])
    # THEN every queue has its tags, by ARN
    maps = [tags[f"arn:aws:sqs:eu-west-1:{account}:q{i}"] for i in range(3)]
    assert maps == [{"team": "payments-platform", "Name": f"q{i}"} for i in range(3)]
    # and the repeated key and value are one string each (at 100,000 resources 12 maps of ~7,800 ARNs live at once)
    teams = [next(k for k in m if k == "team") for m in maps] + [m["team"] for m in maps]
    assert len({id(s) for s in teams[:3]}) == 1
    assert len({id(s) for s in teams[3:]}) == 1
