"""Soak (``make soak``): consecutive scans with the consumers running at the same time, churn between scans.

Between scans 5% of the resources are deleted (buckets), 5% created (buckets) and 10% changed (instance tags,
half of them also stopped or started). After every scan the same checks as the chaos tests run; measured: the
time from scan start until all three stores equal the truth, as a ratio to the scan's own time, and the
resident memory of the long-running processes (this process: scanner + the three consumers; the moto server).

    python -m tests.chaos.soak --scans 20 --resources 10000
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from inventory_cli.fleet import Fleet, client_in_account, seed_fleet
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.topology import build_topology

from tests.chaos.harness import REPORT_PATH, Expectation, Pipeline, check
from tests.conftest import HOME_ACCOUNT, HOME_REGION, Stack, unique_accounts

REGIONS = ["us-east-1", "eu-west-1"]
SOAK_SECTION = "## Soak"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Churn:
    """Deletes, creates and changes resources of the fleet between scans; keeps the truth."""

    def __init__(self, fleet: Fleet, prefix: str) -> None:
        self.fleet = fleet
        self.prefix = prefix
        self.gone: set[str] = set()
        self.created = 0
        self.round = 0

    def truth(self) -> set[str]:
        return self.fleet.arns_of("ec2", "s3", "vpc")

    def apply(
        self, delete_share: float = 0.05, create_share: float = 0.05, change_share: float = 0.10
    ) -> dict[str, int]:
        self.round += 1
        total = len(self.truth())
        accounts = [a.account_id for a in self.fleet.accounts]
        buckets = sorted(self.fleet.arns["s3"])
        delete = buckets[: min(len(buckets) - 1, round(total * delete_share))]
        for arn in delete:
            name = arn.rsplit(":", 1)[-1]
            account = name.split("-")[-2]
            client_in_account("s3", account, "us-east-1").delete_bucket(Bucket=name)
            self.fleet.arns["s3"].discard(arn)
            self.gone.add(arn)
        create = round(total * create_share)
        for i in range(create):
            account = accounts[i % len(accounts)]
            name = f"{self.prefix}bkt-r{self.round}x{i}-{account}-{i:04d}"
            client_in_account("s3", account, "us-east-1").create_bucket(Bucket=name)
            self.fleet.arns["s3"].add(f"arn:aws:s3:::{name}")
            self.created += 1
        instances = sorted(self.fleet.arns["ec2"])
        change = instances[(self.round * 97) % max(1, len(instances)) :][: round(total * change_share)]
        by_cell: dict[tuple[str, str], list[str]] = {}
        for arn in change:
            parts = arn.split(":")
            by_cell.setdefault((parts[4], parts[3]), []).append(parts[5].split("/")[-1])
        for (account, region), ids in by_cell.items():
            ec2 = client_in_account("ec2", account, region)
            for start in range(0, len(ids), 200):
                chunk = ids[start : start + 200]
                ec2.create_tags(Resources=chunk, Tags=[{"Key": "soak", "Value": f"round-{self.round}"}])
                half = chunk[: len(chunk) // 2]
                if half:
                    (ec2.stop_instances if self.round % 2 else ec2.start_instances)(InstanceIds=half)
        return {"deleted": len(delete), "created": create, "changed": len(change)}


def run(scans: int, resources: int, timeout_s: float = 900) -> dict[str, Any]:
    server = MotoServer.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update(
        {"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": HOME_REGION, "AWS_REGION": HOME_REGION}
    )
    os.environ.update({"SCAN_TYPES": "ec2,s3,vpc", "INVENTORY_REGIONS": ",".join(REGIONS)})
    state_dir = Path(f"/tmp/soak-{uuid.uuid4().hex[:8]}")
    prefix = f"s{uuid.uuid4().hex[:6]}-"
    clients = AwsClientFactory(HOME_REGION)
    topology = build_topology(HOME_ACCOUNT, HOME_REGION, prefix=prefix)
    env = provision(clients, topology, state_dir=state_dir)
    os.environ.update(env)
    stack = Stack(topology=topology, env=env, clients=clients)
    accounts = unique_accounts(3)
    named = [(a, f"soak-{i}") for i, a in enumerate(accounts)]
    started = time.monotonic()
    fleet = seed_fleet(named, REGIONS, resources * 8 // 10, prefix=prefix, types=("ec2",))
    rest = seed_fleet(named, REGIONS, resources * 2 // 10, prefix=prefix, types=("s3", "vpc"))
    fleet.arns.update(rest.arns)
    print(f"seeded {len(fleet.arns_of('ec2', 's3', 'vpc'))} resources in {time.monotonic() - started:.0f}s", flush=True)
    pipeline = Pipeline(stack, fleet, ("ec2", "s3", "vpc"))
    churn = Churn(fleet, prefix)
    stop = threading.Event()
    consumers = pipeline.consumers()
    threads = consumers.start(stop)  # running the whole time, as the event source mappings do in AWS
    rows: list[dict[str, Any]] = []
    history: dict[str, int] = {}
    try:
        for n in range(1, scans + 1):
            changes = churn.apply() if n > 1 else {"deleted": 0, "created": 0, "changed": 0}
            truth = churn.truth()
            execution = f"soak-{n}"
            history[execution] = len(truth)
            expected = Expectation(
                active=truth, history=dict(history), raw_accounts=set(accounts), gone=set(churn.gone)
            )
            t0 = time.monotonic()
            pipeline.scan(execution)
            scan_s = time.monotonic() - t0
            problems: list[str] = ["not checked"]
            lost = false_missing = -1
            last_report = time.monotonic()
            deadline = t0 + timeout_s
            while time.monotonic() < deadline:
                if all(p.backlog() == 0 for p in consumers.pollers):
                    lost, false_missing, problems = check(pipeline.observe(), expected)
                    if not problems:
                        break
                    if time.monotonic() - last_report > 60:
                        print(f"scan {n}: queues empty but not consistent yet: {problems[:2]}", flush=True)
                        last_report = time.monotonic()
                time.sleep(1)
            consistent_s = time.monotonic() - t0
            row = {
                "scan": n,
                "resources": len(truth),
                **changes,
                "scan_s": round(scan_s, 1),
                "consistent_s": round(consistent_s, 1),
                "ratio": round(consistent_s / scan_s, 2),
                "rss_services_mb": round(rss_mb(os.getpid())),
                "rss_moto_mb": round(rss_mb(server.process.pid)) if server.process else None,
                "lost": lost,
                "false_missing": false_missing,
                "ok": not problems,
                "problems": problems[:2],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            if problems:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
    return {"scans": scans, "resources": resources, "rows": rows}


def render(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [
        SOAK_SECTION,
        "",
        f"`python -m tests.chaos.soak --scans {result['scans']} --resources {result['resources']}` (consumers polling",
        "concurrently with the scanner; churn between scans: 5% buckets deleted, 5% buckets created, 10% instances",
        "re-tagged, half of those stopped or started). consistent = from scan start until DynamoDB, Iceberg, the raw",
        "archive, the history and the DLQs all equal the truth; ratio = consistent / scan time (target <= 1.3). RSS:",
        "this process (scanner + 3 consumers) and the moto server.",
        "",
        "| scan | resources | deleted | created | changed | scan (s) | consistent (s) | ratio | RSS services (MB) |"
        " RSS moto (MB) | result |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        result_text = "equal to the truth" if r["ok"] else f"**FAILED**: {'; '.join(r['problems'])}"
        lines.append(
            f"| {r['scan']} | {r['resources']} | {r['deleted']} | {r['created']} | {r['changed']} | {r['scan_s']} | "
            f"{r['consistent_s']} | {r['ratio']} | {r['rss_services_mb']} | {r['rss_moto_mb']} | {result_text} |"
        )
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = REPORT_PATH) -> None:
    current = path.read_text() if path.exists() else "# Reliability report\n"
    head = current.split(SOAK_SECTION)[0].rstrip() + "\n\n"
    path.write_text(head + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--resources", type=int, default=10_000)
    args = parser.parse_args()
    result = run(args.scans, args.resources)
    write_section(render(result))
    print(f"wrote {REPORT_PATH}")
    if not all(r["ok"] for r in result["rows"]) or len(result["rows"]) < args.scans:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
