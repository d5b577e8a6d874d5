"""The scanner's entry points on the emulator: `inventory scan`, `inventory config generate`, `python -m scanner`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest
import yaml
from inventory_cli.fleet import seed_fleet
from inventory_cli.main import app
from inventory_cli.runtime import register_accounts
from inventory_core.items import Account, account_key, scan_status_key
from inventory_events import ScanRequested
from scanner.bootstrap import build_service
from scanner.settings import ScannerSettings
from typer.testing import CliRunner

from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator
REGION = "eu-west-1"


def test_inventory_scan_limits_the_scan_to_the_given_account_region_and_type(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two accounts with instances and buckets
    accounts = unique_accounts(2)
    fleet = seed_fleet(
        [(a, a) for a in accounts], [REGION, "us-west-2"], 16, prefix=stack.topology.prefix, types=("ec2", "s3")
    )
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(a, a, True) for a in accounts])
    monkeypatch.delenv("INVENTORY_REGIONS", raising=False)
    monkeypatch.delenv("SCAN_TYPES", raising=False)
    # WHEN one account, one region and one type are asked for
    result = CliRunner().invoke(
        app, ["scan", "--account", accounts[0], "--region", REGION, "--type", "ec2", "--no-progress"]
    )
    os.environ.pop("INVENTORY_REGIONS", None)
    os.environ.pop("SCAN_TYPES", None)
    # THEN only that slice is scanned
    assert result.exit_code == 0, result.output
    expected = {a for a in fleet.arns["ec2"] if f":{REGION}:{accounts[0]}:" in a}
    assert f"{accounts[0]}: success, {len(expected)} resources" in result.output
    assert accounts[1] not in result.output


def test_inventory_scan_rejects_an_unknown_type_with_the_known_ones(stack: Stack) -> None:
    result = CliRunner().invoke(app, ["scan", "--type", "ec3", "--no-progress"])
    os.environ.pop("SCAN_TYPES", None)
    assert result.exit_code != 0
    assert "ec3" in result.output and "did you mean" in result.output and "ec2" in result.output


def test_config_generate_writes_the_active_accounts_yaml(stack: Stack) -> None:
    accounts = unique_accounts(2)
    register_accounts(
        stack.clients,
        stack.env["APP_TABLE_NAME"],
        [Account(accounts[0], "on", True), Account(accounts[1], "off", False)],
    )
    result = CliRunner().invoke(app, ["config", "generate"])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.output)
    sheets = document["inventories"][0]["sheets"]
    assert [s["name"] for s in sheets][:3] == ["EC2Instances", "ECSServices", "LambdaFunctions"]
    assert accounts[0] in result.output and accounts[1] not in result.output
    refused = CliRunner().invoke(app, ["config", "generate", "--account", accounts[1]])
    assert refused.exit_code != 0 and "syncEnabled" in refused.output


def test_the_fargate_task_scans_the_account_and_execution_it_is_given(stack: Stack) -> None:
    # GIVEN one account with buckets, and the environment a launcher gives the task
    account = unique_accounts(1)[0]
    seed_fleet([(account, account)], [REGION], 3, prefix=stack.topology.prefix, types=("s3",))
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(account, account, True)])
    env = {**os.environ, "ACCOUNT_ID": account, "EXECUTION_ID": "task-1", "SCAN_TYPES": "s3", "EMIT_METRICS": "true"}
    # WHEN the container entry point runs
    done = subprocess.run([sys.executable, "-m", "scanner"], env=env, capture_output=True, text=True, timeout=120)
    # THEN it exits 0 after publishing that execution for that account
    assert done.returncode == 0, done.stderr
    status = stack.table.get_item(Key=scan_status_key("task-1"))["Item"]
    assert (status["trigger"], status["accountIds"]) == ("api", [account])
    sqs = stack.clients.client("sqs")
    bodies = []
    for _ in range(5):
        messages = sqs.receive_message(
            QueueUrl=stack.env["ARCHIVER_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        bodies += [json.loads(m["Body"]) for m in messages]
        if not messages:
            break
    account_events = [b for b in bodies if b["event_type"] == "AccountScanCompleted"]
    assert [(b["execution_id"], b["account_id"], b["status"]) for b in account_events] == [
        ("task-1", account, "success")
    ]


def test_a_request_larger_than_a_shard_runs_as_shard_processes_with_one_scan_completed(stack: Stack) -> None:
    # GIVEN three accounts and a shard size of one
    accounts = unique_accounts(3)
    seed_fleet([(a, a) for a in accounts], [REGION], 3, prefix=stack.topology.prefix, types=("s3",))
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(a, a, True) for a in accounts])
    settings = ScannerSettings(scan_types=["s3"], inventory_regions=[REGION], shard_size=1, shard_processes=2)
    # WHEN the worker's entry handles one request for all of them
    outcome = build_service(settings, stack.clients).handle(
        ScanRequested(execution_id="sharded-1", account_ids=accounts)
    )
    # THEN three shard processes scanned, and the last one published the execution's only ScanCompleted
    assert outcome is None
    status = stack.table.get_item(Key=scan_status_key("sharded-1"))["Item"]
    assert (status["shardCount"], status["shardsFinished"]) == (3, {"0", "1", "2"})
    sqs = stack.clients.client("sqs")
    completed = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=stack.env["DDB_PROJECTOR_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        completed += [b for b in (json.loads(m["Body"]) for m in messages) if b["event_type"] == "ScanCompleted"]
    assert len(completed) == 1
    assert sorted(a["account_id"] for a in completed[0]["accounts"]) == sorted(accounts)


def test_accounts_import_adds_the_organization_members_disabled_and_keeps_existing_ones(stack: Stack) -> None:
    # GIVEN an organization with two member accounts, one of them already registered and enabled
    org = stack.clients.client("organizations")
    # the session's moto server holds one organization per management account
    with contextlib.suppress(org.exceptions.AlreadyInOrganizationException):
        org.create_organization(FeatureSet="ALL")
    tag = stack.topology.prefix.strip("-")
    members = [
        org.create_account(Email=f"{tag}-{i}@example.com", AccountName=f"{tag}-{i}")["CreateAccountStatus"]["AccountId"]
        for i in range(2)
    ]
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(members[0], "kept", True)])
    # WHEN
    result = CliRunner().invoke(app, ["accounts", "import", "--from-organizations"])
    # THEN the new member is added disabled, the registered one keeps its settings
    assert result.exit_code == 0, result.output
    assert f"added {members[1]} ({tag}-1), syncEnabled false" in result.output
    items = {m: stack.table.get_item(Key=account_key(m))["Item"] for m in members}
    assert (items[members[0]]["accountName"], items[members[0]]["syncEnabled"]) == ("kept", True)
    assert (items[members[1]]["accountName"], items[members[1]]["syncEnabled"]) == (f"{tag}-1", False)
