"""make env turns the deployed stack's outputs into the settings, and the stack declares every one of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from infra.outputs import SETTINGS_BY_OUTPUT, environment

OUTPUTS = {
    "Inventory": {
        "AppTableName": "nucleus-app-app-table",
        "AuditTableName": "nucleus-app-audit",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:inventory-events",
        "ScanRequestsQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/scan-requests",
        "InventoryBucketName": "nucleus-app-inventory-123456789012-us-east-1",
        "TableBucketArn": "arn:aws:s3tables:us-east-1:123456789012:bucket/b",
    }
}


def test_every_mapped_output_is_declared_by_the_stack(template: Any) -> None:
    assert set(SETTINGS_BY_OUTPUT) <= set(template.to_json()["Outputs"])


def test_outputs_become_the_settings() -> None:
    env = environment(OUTPUTS)
    assert env["APP_TABLE_NAME"] == "nucleus-app-app-table"
    assert env["SCAN_REQUESTS_QUEUE_URL"].endswith("/scan-requests")
    assert env["ICEBERG_CATALOG_TYPE"] == "s3tables"


def test_an_old_stack_without_an_output_is_refused() -> None:
    with pytest.raises(ValueError, match="no output TableBucketArn"):
        environment({"Inventory": {k: v for k, v in OUTPUTS["Inventory"].items() if k != "TableBucketArn"}})


def test_the_command_prints_shell_exports(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    done = subprocess.run(
        [sys.executable, "-m", "infra.outputs", "--outputs", str(path)], capture_output=True, text=True, check=True
    )
    assert "export APP_TABLE_NAME=nucleus-app-app-table" in done.stdout.splitlines()
