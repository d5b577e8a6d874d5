"""The task the scan-requests pipe starts: `python -m scanner` with the SQS body as SCAN_REQUEST (docs/deploy.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from inventory_cli.fleet import seed_fleet
from inventory_cli.runtime import register_accounts
from inventory_core.items import Account
from inventory_events import ScanRequested

from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator
REGION = "eu-west-1"


def test_the_launched_task_scans_exactly_the_request_in_scan_request(stack: Stack) -> None:
    # GIVEN two registered accounts and a request (as the API wrote it to scan-requests) for one of them
    accounts = unique_accounts(2)
    seed_fleet([(a, a) for a in accounts], [REGION], 2, prefix=stack.topology.prefix, types=("s3",))
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(a, a, True) for a in accounts])
    request = ScanRequested(execution_id="launched-1", account_ids=[accounts[1]], trigger="api", requested_by="alice")
    env = {
        **os.environ,
        "SCAN_REQUEST": request.model_dump_json(),
        "SCAN_TYPES": "s3",
        "INVENTORY_REGIONS": REGION,
    }
    env.pop("SCAN_REQUESTS_QUEUE_URL", None)  # the task definition has none: a task is one scan
    # WHEN the container's default command runs with the pipe's override
    done = subprocess.run([sys.executable, "-m", "scanner"], env=env, capture_output=True, text=True, timeout=180)
    # THEN it scanned that execution for that account only, as requested by that user
    assert done.returncode == 0, done.stderr
    sqs = stack.clients.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=stack.env["DDB_PROJECTOR_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        bodies += [json.loads(m["Body"]) for m in messages]
    [completed] = [b for b in bodies if b["event_type"] == "ScanCompleted"]
    assert completed["execution_id"] == "launched-1"
    assert [a["account_id"] for a in completed["accounts"]] == [accounts[1]]
