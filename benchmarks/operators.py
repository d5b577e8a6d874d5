"""Operators' commands on the emulator: dead-letter redrive rate, `dlq show`, account check, scan history page.

Redrive moves N dead letters message by message (moto has no StartMessageMoveTask) and is compared with
the floor: the same receive / send_message_batch / delete_message_batch calls made bare, without our
bookkeeping. The others time one call each, REPEAT times (median).

Run: ``make bench-operators`` or ``.venv/bin/python benchmarks/operators.py [--messages N]``.
Writes benchmarks/results/operators.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory_api.accounts import AccountService, Actor
from inventory_api.adapters.dynamodb_accounts import DynamoDbAccountStore
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_api.adapters.dynamodb_reader import DynamoDbInventoryReader
from inventory_api.adapters.dynamodb_scan_history import DynamoDbScanHistory
from inventory_api.adapters.sts_access_check import StsAccessChecker, known_regions
from inventory_api.audit import AuditService
from inventory_api.auth import Principal, Role
from inventory_api.history import ScanHistoryService
from inventory_api.schemas import AccountCreate
from inventory_cli.dlq import DeadLetters
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.items import ScanAccountItem, ScanStatusItem
from inventory_core.topology import build_topology

REGION = "us-east-1"
RESULTS = Path(__file__).parent / "results"


def fill(sqs: Any, url: str, n: int) -> None:
    body = json.dumps({"event_type": "ScanRequested", "execution_id": "bench", "padding": "x" * 500})
    for start in range(0, n, 10):
        entries = [{"Id": str(i), "MessageBody": body} for i in range(min(10, n - start))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def bare_move(sqs: Any, source: str, target: str, n: int) -> None:
    moved = 0
    while moved < n:
        got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=120).get("Messages", [])
        if not got:
            break
        sqs.send_message_batch(
            QueueUrl=target, Entries=[{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(got)]
        )
        sqs.delete_message_batch(
            QueueUrl=source, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
        moved += len(got)


def median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    server = MotoServer.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
    try:
        clients = AwsClientFactory(REGION)
        with tempfile.TemporaryDirectory() as state:
            env = provision(clients, build_topology("123456789012", REGION, prefix="bench-"), state_dir=Path(state))
        sqs = clients.client("sqs")
        letters = DeadLetters(sqs, environ=env)
        queue = letters.queues(["archiver"])[0]
        results: dict[str, Any] = {"messages": args.messages}

        fill(sqs, queue.dlq_url, args.messages)
        t0 = time.perf_counter()
        result = letters.redrive(queue)
        ours = time.perf_counter() - t0
        assert result.moved == args.messages and result.failed == 0, result
        sqs.purge_queue(QueueUrl=queue.source_url)
        fill(sqs, queue.dlq_url, args.messages)
        t0 = time.perf_counter()
        bare_move(sqs, queue.dlq_url, queue.source_url, args.messages)
        floor = time.perf_counter() - t0
        results["redrive"] = {
            "seconds": round(ours, 2),
            "messages_per_s": round(args.messages / ours),
            "bare_seconds": round(floor, 2),
            "ratio_to_bare": round(ours / floor, 2),
        }
        sqs.purge_queue(QueueUrl=queue.source_url)
        fill(sqs, queue.dlq_url, 50)
        results["dlq_show_10_ms"] = median_ms(lambda: letters.peek(queue, 10), args.repeat)

        table = clients.dynamodb_table(env["APP_TABLE_NAME"])
        service = AccountService(
            DynamoDbInventoryReader(table),
            DynamoDbAccountStore(table),
            StsAccessChecker(clients),
            AuditService(DynamoDbAuditLog(clients.dynamodb_table(env["AUDIT_TABLE_NAME"]))),
            known_regions=known_regions(clients.session),
            default_regions=["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"],
        )
        actor = Actor(principal=Principal(user_id="bench", role=Role.admin))
        service.add(AccountCreate(accountId="222233334444", accountName="bench", externalId="ext-bench-1"), actor)
        service.check("222233334444", actor)  # first EC2 calls load moto's backend
        results["check_4_regions_ms"] = median_ms(lambda: service.check("222233334444", actor), args.repeat)

        for n in range(200):
            started = f"2026-11-{1 + n // 10:02d}T02:{n % 60:02d}:00Z"
            table.put_item(
                Item=ScanStatusItem(
                    f"e{n}", status="completed", trigger="schedule", started_at=started, account_ids=("222233334444",)
                ).to_item()
            )
            table.put_item(Item=ScanAccountItem(f"e{n}", "222233334444", status="success").to_item())
        history = ScanHistoryService(DynamoDbScanHistory(table))
        results["history_page_20_ms"] = median_ms(lambda: history.page(20, None), args.repeat)
    finally:
        server.stop()
    results["machine"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "operators.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
