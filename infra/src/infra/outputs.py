"""``make env``: the deployed stack's outputs as the environment the CLI and services read.

``make deploy`` writes ``infra/cdk.out/outputs.json``; this prints ``export NAME=value`` lines for the
settings the ``inventory`` command needs against AWS (accounts, scans, dlq, sql), so nothing is copied by
hand: ``eval "$(make -s env)"``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

SETTINGS_BY_OUTPUT: dict[str, str] = {
    "AppTableName": "APP_TABLE_NAME",
    "AuditTableName": "AUDIT_TABLE_NAME",
    "TopicArn": "EVENTS_TOPIC_ARN",
    "ScanRequestsQueueUrl": "SCAN_REQUESTS_QUEUE_URL",
    "InventoryBucketName": "INVENTORY_BUCKET",
    "TableBucketArn": "ICEBERG_TABLE_BUCKET_ARN",
}
"""Stack output -> the setting (environment variable) it feeds."""

FIXED = {"ICEBERG_CATALOG_TYPE": "s3tables"}


def environment(outputs: dict[str, dict[str, str]], stack: str | None = None) -> dict[str, str]:
    """The settings of one stack's outputs (the only stack when ``stack`` is None)."""
    if stack is None:
        if len(outputs) != 1:
            raise ValueError(f"outputs hold {sorted(outputs)}: name the stack with --stack")
        stack = next(iter(outputs))
    values = outputs[stack]
    missing = sorted(name for name in SETTINGS_BY_OUTPUT if name not in values)
    if missing:
        raise ValueError(f"stack {stack} has no output {', '.join(missing)}: deploy the current stack first")
    return {**FIXED, **{setting: values[name] for name, setting in SETTINGS_BY_OUTPUT.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="env", description="export lines from make deploy's outputs")
    parser.add_argument(
        "--outputs", type=Path, default=Path(__file__).resolve().parents[2] / "cdk.out" / "outputs.json"
    )
    parser.add_argument("--stack", help="Inventory or Inventory-<stage> when several are in the file")
    args = parser.parse_args(argv)
    if not args.outputs.is_file():
        parser.error(f"{args.outputs} does not exist: run make deploy first")
    try:
        env = environment(json.loads(args.outputs.read_text()), args.stack)
    except ValueError as exc:
        parser.error(str(exc))
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")  # noqa: T201 - shell output
    return 0


if __name__ == "__main__":
    sys.exit(main())
