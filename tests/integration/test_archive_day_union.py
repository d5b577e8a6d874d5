"""Issue 15 on the emulator: the day's raw document keeps every scope seen that day, whatever scan ran last.

Each test runs the scanner through its public entry points (`inventory scan`, or its composition root when a
fault must be injected), publishes to the real topic, drains the archiver's queue with its Lambda handler,
and checks the raw counts per type that `inventory local status` prints.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from archiver.bootstrap import build_service as build_archiver
from archiver.handler import handle_batch
from archiver.settings import ArchiverSettings
from botocore.awsrequest import AWSResponse
from inventory_cli.fleet import Fleet, client_in_account, seed_fleet
from inventory_cli.main import app
from inventory_cli.runtime import register_accounts
from inventory_cli.summary import raw_counts, summarize
from inventory_core.items import Account
from inventory_core.sqs import SqsLambdaPoller, drain
from inventory_events import ScanRequested
from scanner.bootstrap import build_service as build_scanner
from scanner.settings import ScannerSettings
from typer.testing import CliRunner

from tests.builders import http_headers
from tests.conftest import Stack, unique_accounts
from tests.integration.iam.harness import environment

pytestmark = pytest.mark.emulator
REGIONS = ["us-east-1", "eu-west-1"]
TYPES = ("ec2", "s3", "vpc", "lambda")


def drain_archiver(stack: Stack) -> None:
    service = build_archiver(ArchiverSettings(), stack.clients)
    poller = SqsLambdaPoller(
        stack.clients.client("sqs"),
        stack.env["ARCHIVER_QUEUE_URL"],
        lambda event, context: handle_batch(event, context, service),
        name="archiver",
        retry_delay_s=0,
    )
    drain([poller], timeout_s=120)


def cli_scan(*args: str) -> None:
    """`inventory scan ...`; the options it writes into this process's environment are undone afterwards.

    Not with ``monkeypatch.delenv`` after the command: monkeypatch records the value it deletes and puts it
    back at teardown, so an INVENTORY_CONFIG the command set outlived the test (the DLQ redrive test's scan
    then read this test's YAML, which lists key pairs only, and found 0 of its VPCs).
    """
    with environment({"INVENTORY_CONFIG": None, "INVENTORY_REGIONS": ",".join(REGIONS), "SCAN_TYPES": ",".join(TYPES)}):
        result = CliRunner().invoke(app, ["scan", *args, "--no-progress"])
    assert result.exit_code == 0, result.output


def seeded(stack: Stack, types: Sequence[str] = TYPES) -> tuple[str, Fleet]:
    account = unique_accounts(1)[0]
    fleet = seed_fleet([(account, account)], REGIONS, 24, prefix=stack.topology.prefix, types=types)
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(account, account, True)])
    return account, fleet


def day_document(stack: Stack, account: str) -> dict[str, Any]:
    s3, bucket = stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"]
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]]
    assert key.startswith("raw/year=") and key.endswith(f"/{account}/inventory.json")
    return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def scope_sources(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, bool]]:
    return {(s["region"], s["resourceType"]): (s["executionId"], s["complete"]) for s in document["scopes"]}


def truth(fleet: Fleet) -> dict[str, int]:
    return {slug: len(arns) for slug, arns in fleet.arns.items() if arns}


def test_a_full_scan_then_a_one_type_one_region_scan_keeps_every_type(stack: Stack) -> None:
    # GIVEN a full scan of the day archived
    account, fleet = seeded(stack)
    bucket = stack.env["INVENTORY_BUCKET"]
    cli_scan("--account", account)
    drain_archiver(stack)
    assert raw_counts(stack.clients, bucket) == (truth(fleet), 1)
    first = scope_sources(day_document(stack, account))
    assert len(first) == 7  # ec2, vpc, lambda in 2 regions, s3 once (global)
    # WHEN `inventory scan --type ec2 --region us-east-1` runs the same day
    cli_scan("--account", account, "--type", "ec2", "--region", "us-east-1")
    drain_archiver(stack)
    # THEN every type and region is still archived; only that scope comes from the second scan
    assert raw_counts(stack.clients, bucket) == (truth(fleet), 1)
    status = summarize(stack.clients)  # what `inventory local status` prints
    assert (status.s3_raw, status.raw_documents) == (truth(fleet), 1)
    ec2_line = next(line for line in status.lines() if line.startswith("ec2 "))
    assert ec2_line.split()[-1] == str(len(fleet.arns["ec2"]))
    document = day_document(stack, account)
    second = scope_sources(document)
    changed = {k for k in second if second[k] != first[k]}
    assert changed == {("us-east-1", "ec2")} and second.keys() == first.keys()
    assert len(document["executions"]) == 2
    east_ec2 = {i["InstanceId"] for i in document["regions"]["us-east-1"]["ec2"]}
    assert {f"arn:aws:ec2:us-east-1:{account}:instance/{i}" for i in east_ec2} == {
        a for a in fleet.arns["ec2"] if ":us-east-1:" in a
    }


def test_a_config_scan_of_an_extra_sheet_then_the_daily_scan_keeps_both(stack: Stack, tmp_path: Path) -> None:
    # GIVEN key pairs in the account, and a YAML with one extra sheet for them
    account, fleet = seeded(stack, ("ec2", "vpc"))
    for region in REGIONS:
        ec2 = client_in_account("ec2", account, region)
        for n in range(2):
            ec2.create_key_pair(KeyName=f"{stack.topology.prefix}key-{n}")
    config = tmp_path / "extra.yaml"
    sheet = {"name": "KeyPairs", "service": "ec2", "function": "describe_key_pairs", "result_key": "KeyPairs"}
    config.write_text(
        yaml.safe_dump(
            {
                "inventories": [
                    {
                        "name": "extra",
                        "aws": {"profile": None, "region": REGIONS, "organization": False},
                        "sheets": [sheet],
                    }
                ]
            }
        )
    )
    bucket = stack.env["INVENTORY_BUCKET"]
    # WHEN the config scan runs, then the daily scan of the default types
    cli_scan("--account", account, "--config", str(config))
    drain_archiver(stack)
    after_config = raw_counts(stack.clients, bucket)[0]
    ((key_type, keys),) = after_config.items()
    assert keys == 4
    config_scopes = scope_sources(day_document(stack, account))
    cli_scan("--account", account)
    drain_archiver(stack)
    # THEN the day's document holds both: the key pairs of the config scan and the daily scan's types
    document = day_document(stack, account)
    assert raw_counts(stack.clients, bucket) == ({**truth(fleet), key_type: 4}, 1)
    sources = scope_sources(document)
    assert {k: sources[k] for k in config_scopes} == config_scopes
    assert {t for _, t in sources} == {key_type, *TYPES}


def refuse_describe_instances(request: Any, **_: Any) -> AWSResponse | None:
    class Body:
        def stream(self, **_: Any) -> Any:
            yield (
                b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>injected</Message>"
                b"</Error></Errors><RequestID>x</RequestID></Response>"
            )

    return AWSResponse(request.url, 403, http_headers(), Body())


def test_a_scan_that_failed_a_scope_keeps_the_earlier_complete_items_of_that_scope(stack: Stack) -> None:
    # GIVEN a complete scan of the day archived
    account, fleet = seeded(stack, ("ec2", "vpc"))
    bucket = stack.env["INVENTORY_BUCKET"]
    cli_scan("--account", account)
    drain_archiver(stack)
    first = scope_sources(day_document(stack, account))
    east_ec2 = day_document(stack, account)["regions"]["us-east-1"]["ec2"]
    assert east_ec2 and raw_counts(stack.clients, bucket) == (truth(fleet), 1)
    # WHEN a later scan of the same day is refused DescribeInstances (its EC2 scopes fail, VPCs succeed)
    settings = ScannerSettings(inventory_regions=REGIONS, scan_types=["ec2", "vpc"], api_max_attempts=1)
    result = build_scanner(
        settings, stack.clients, session_hooks=[("before-send.ec2.DescribeInstances", refuse_describe_instances)]
    ).scan(ScanRequested(execution_id=str(uuid.uuid4()), account_ids=[account]))
    assert [a.status for a in result.accounts] == ["partial"]
    drain_archiver(stack)
    # THEN the EC2 scopes still hold the first scan's complete items; the VPC scopes come from the new scan
    document = day_document(stack, account)
    sources = scope_sources(document)
    assert {k: v for k, v in sources.items() if k[1] == "ec2"} == {k: v for k, v in first.items() if k[1] == "ec2"}
    assert {v for k, v in sources.items() if k[1] == "vpc"} == {(result.execution_id, True)}
    assert document["regions"]["us-east-1"]["ec2"] == east_ec2
    for entry in document["scopes"]:
        if entry["resourceType"] == "ec2":
            assert entry["notReplacedBy"][0]["executionId"] == result.execution_id
    assert raw_counts(stack.clients, bucket) == (truth(fleet), 1)
    (execution,) = [e for e in document["executions"] if e["executionId"] == result.execution_id]
    assert execution["status"] == "partial"
    assert sorted(execution["failedScopes"], key=str) == sorted(
        [{"region": r, "resourceType": "ec2"} for r in REGIONS], key=str
    )
