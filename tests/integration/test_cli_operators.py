"""`inventory accounts | scans` on the emulator, and where the CLI points (real AWS unless --local)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from boto3.dynamodb.conditions import Key
from inventory_cli import target
from inventory_cli.main import app
from inventory_core.dynamo import query_items
from inventory_core.items import Account, account_key, account_pk, resource_sk_prefix
from inventory_core.topology import build_topology
from typer.testing import CliRunner

from tests.conftest import HOME_ACCOUNT, Stack, unique_accounts

pytestmark = pytest.mark.emulator

SECRET = "ext-0a1b2c3d4e5f-SECRET-WXYZ"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_accounts_lifecycle_from_the_cli(stack: Stack) -> None:
    (account,) = unique_accounts(1)

    # WHEN an operator adds an account with the ExternalId on stdin
    code, out, err = run(
        "accounts",
        "add",
        account,
        "--name",
        "Payments",
        "--regions",
        "eu-west-1,us-east-1",
        "--external-id",
        stdin=SECRET + "\n",
    )
    # THEN the first stderr line says where it talks to, and the ExternalId shows only as a hint
    assert code == 0, err
    assert err.splitlines()[0].startswith(f"target: AWS {os.environ['AWS_ENDPOINT_URL']} account {HOME_ACCOUNT}")
    assert "…WXYZ" in out and SECRET not in out + err
    item = stack.table.get_item(Key=account_key(account))["Item"]
    assert item["externalId"] == SECRET and item["regions"] == ["eu-west-1", "us-east-1"]

    # AND bad input is refused with a clear message and nothing is written
    code, _, err = run("accounts", "add", "12345", "--name", "x")
    assert code == 2 and "accountId: String should match pattern" in err
    code, _, err = run("accounts", "add", "1" * 12, "--name", "x", "--role-name", "Administrator")
    assert code == 2 and "roleName" in err
    code, _, err = run("accounts", "add", "1" * 12, "--name", "x", "--regions", "us-east-1,zz-mars-1")
    assert code == 2 and "unknown region(s): zz-mars-1" in err
    assert "Item" not in stack.table.get_item(Key=account_key("1" * 12))
    code, _, err = run("accounts", "add", account, "--name", "again")
    assert code == 4 and "already registered" in err

    # WHEN it is disabled, enabled, checked, then removed
    assert run("accounts", "disable", account)[0] == 0
    assert stack.table.get_item(Key=account_key(account))["Item"]["syncEnabled"] is False
    assert run("accounts", "enable", account)[0] == 0
    code, out, err = run("accounts", "check", account)
    assert code == 0, out + err
    assert [line.split()[1:3] for line in out.splitlines()[1:]] == [["eu-west-1", "ok"], ["us-east-1", "ok"]]
    code, out, _ = run("accounts", "list")
    assert account in out and "enabled" in out and "1 accounts" in out
    assert run("accounts", "remove", account, "--yes")[0] == 0
    code, _, err = run("accounts", "enable", account)
    assert code == 3 and "not registered" in err

    # THEN every change was audited under the caller's AWS identity
    from datetime import UTC, datetime

    from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog

    audit = DynamoDbAuditLog(stack.clients.dynamodb_table(stack.env["AUDIT_TABLE_NAME"]))
    records = audit.read(datetime.now(UTC).date().isoformat(), 100)
    actions = {(r["action"], r["outcome"]) for r in records}
    assert {("account.add", "success"), ("account.update", "success"), ("account.remove", "success")} <= actions
    assert {r["actor"] for r in records} == {"arn:aws:sts::123456789012:user/moto"}
    assert SECRET not in str(records)


def test_accounts_written_by_nucleus_are_adopted_by_one_command(stack: Stack) -> None:
    # GIVEN an Account item as the Nucleus app writes it: no GSI keys, so neither the scanner nor the grid sees it
    (account,) = unique_accounts(1)
    stack.table.put_item(Item={**account_key(account), "accountName": "From Nucleus", "syncEnabled": True})
    assert account not in run("accounts", "list")[1]

    # WHEN the operator looks first, then adopts
    code, out, _ = run("accounts", "adopt", "--dry-run")
    assert code == 0 and f"would adopt {account} (From Nucleus): sync enabled" in out
    assert account not in run("accounts", "list")[1]
    code, out, _ = run("accounts", "adopt")
    assert code == 0 and f"adopted {account}" in out

    # THEN it is listed as a Nucleus account and the scanner's directory finds it
    code, out, _ = run("accounts", "list")
    assert account in out and "nucleus" in out
    from scanner.adapters.accounts import DynamoDbAccountDirectory

    assert account in [a.account_id for a in DynamoDbAccountDirectory(stack.table).enabled_accounts(None)]
    assert "0 Nucleus account items adopted" in run("accounts", "adopt")[1]


def test_a_cli_scan_is_in_the_scan_history(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    (account,) = unique_accounts(1)
    stack.table.put_item(Item=Account(account, "Scanned", True).to_item())
    monkeypatch.setenv("SHARD_PROCESSES", "0")
    # The options win over the environment's settings, for this scan only: the environment is left as it was.
    monkeypatch.setenv("SCAN_TYPES", "s3")
    monkeypatch.setenv("INVENTORY_REGIONS", "eu-west-1")
    code, out, err = run("scan", "--type", "vpc", "--region", "us-east-1", "--no-progress")
    assert code == 0, out + err
    assert (os.environ["SCAN_TYPES"], os.environ["INVENTORY_REGIONS"]) == ("s3", "eu-west-1")
    code, out, _ = run("scans", "list")
    assert "in_progress" in out.splitlines()[1]  # the consumers have not run yet
    from inventory_cli.runtime import Consumers

    Consumers.build(stack.clients, retry_delay_s=0.2, wait_s=1).drain(timeout_s=120)
    code, out, _ = run("scans", "list")
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:3] == ["EXECUTION", "TRIGGER", "BY"]
    execution_id, trigger, by = row.split()[:3]
    assert (trigger, by) == ("cli", "arn:aws:sts::123456789012:user/moto")
    code, out, _ = run("scans", "show", execution_id)
    assert code == 0 and account in out and "success" in out
    mine = Key("pk").eq(account_pk(account)) & Key("sk").begins_with(resource_sk_prefix())
    scanned = list(query_items(stack.table, KeyConditionExpression=mine))
    assert scanned and {(i["resourceType"], i["region"]) for i in scanned} == {("vpc", "us-east-1")}
    assert run("scans", "show", "no-such-execution")[0] == 3
    assert run("scans", "list", "--next-token", "garbage")[0] == 2


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    code = "from inventory_cli.main import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_stale_local_env_file_no_longer_redirects_a_real_aws_command(stack: Stack, tmp_path: Path) -> None:
    # GIVEN a local env file left behind, pointing at a (running) local stack with one account
    (account,) = unique_accounts(1)
    stack.table.put_item(Item=Account(account, "Local only", True).to_item())
    state = tmp_path / "state"
    (state / "local").mkdir(parents=True)
    local_env = {
        **stack.env,
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    (state / "local" / "local.env").write_text("".join(f"{k}={v}\n" for k, v in local_env.items()))
    # AND a shell with no AWS settings at all (no endpoint, no credentials: nothing reachable here)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INVENTORY_", "APP_", "AUDIT_"))}
    clean.update(
        INVENTORY_STATE_DIR=str(state),
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )

    # WHEN a real-AWS command runs
    real = _cli(clean, "accounts", "list")
    # THEN it names real AWS on its first line and fails for lack of credentials, never reading the local stack
    assert real.returncode == 2, real.stdout + real.stderr
    first = real.stderr.splitlines()[0]
    assert (
        first == "error: AWS https://sts.eu-west-1.amazonaws.com: no AWS credentials in the standard chain "
        "(for the local stack pass --local)"
    )
    assert account not in real.stdout and os.environ["AWS_ENDPOINT_URL"] not in real.stderr

    # WHEN the same command asks for the local stack (flag or variable) THEN it uses the env file and says so
    for args, extra in ((("--local", "accounts", "list"), {}), (("accounts", "list"), {"INVENTORY_TARGET": "local"})):
        local = _cli({**clean, **extra}, *args)
        assert local.returncode == 0, local.stderr
        assert local.stderr.splitlines()[0].startswith(f"target: local stack {os.environ['AWS_ENDPOINT_URL']} account")
        assert account in local.stdout


def test_the_deployed_stack_names_come_from_the_topology() -> None:
    env = target.stack_environment(
        build_topology("210987654321", "eu-west-1", prefix="prod-"), "210987654321", "eu-west-1"
    )
    assert env["APP_TABLE_NAME"] == "prod-nucleus-app-app-table"
    assert env["AUDIT_TABLE_NAME"] == "prod-nucleus-app-audit"
    assert env["DDB_PROJECTOR_QUEUE_URL"] == "https://sqs.eu-west-1.amazonaws.com/210987654321/prod-ddb-projector"
    assert env["EVENTS_TOPIC_ARN"] == "arn:aws:sns:eu-west-1:210987654321:prod-inventory-events"
