"""API latency on the emulator, cold and warm, over HTTP (uvicorn on 127.0.0.1).

Seeds N resource items straight into DynamoDB (batch writes of the projector's TRD item shape), publishes the
grid snapshot with the projector's own writer (ddb_projector.adapters.grid_snapshot.S3SnapshotStore, the
format the publisher produces), then journals CHANGES changes after the snapshot's watermark the way the
projector does (inventory_core.grid.journal_item, plus the item update), so a cold API must apply them.

Cold: for each scenario a fresh API process (``python -m uvicorn``) is started; we time its start until it
listens (imports), its first request (snapshot GET + parse + journal + accounts + the answer: the model is
whole once this returns), and read its memory (VmRSS/VmHWM). Warm: in one process, p50/p95/p99 of REQUESTS
sequential requests each (first page, filtered page, search, page 200), the time until a change the projector
journals shows, and one export of every row.

``--memory-only`` publishes a snapshot of N rows without seeding the table (the cold path reads only the
snapshot, the journal and the accounts) and reports a cold process's memory: how the 500,000 figure is made.

Run: ``make bench-api`` (10,000 and 100,000 resources, then 500,000 memory-only), or
``.venv/bin/python benchmarks/api.py [--resources N] [--requests N] [--memory-only]``.
Writes benchmarks/results/api-{N}.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import moto
from ddb_projector.adapters.grid_snapshot import S3SnapshotStore
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer, free_port
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.grid import (
    SNAPSHOT_KEY,
    grid_row,
    journal_chunks,
    journal_entry_items,
    reserve_journal_entries,
)
from inventory_core.items import Account
from inventory_core.topology import build_topology

from tests.builders import bulk_resource_item

RESULTS = Path(__file__).parent / "results"
HOME_ACCOUNT, HOME_REGION = "123456789012", "us-east-1"
ACCOUNTS = [(f"{100_000_000_000 + i * 111_111_111:012d}", f"account-{i}") for i in range(10)]
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
TYPES = ("ec2", "lambda", "rds", "s3", "vpc", "elbv2", "ecs", "dynamodb")
TARGET_P95_MS = 300.0
TARGET_COLD_MS = 1000.0
CHANGES = 200  # journaled after the snapshot: half marked missing, half new resources


def item(i: int) -> dict[str, Any]:
    account = ACCOUNTS[i % len(ACCOUNTS)][0]
    region, rtype = REGIONS[(i // 10) % len(REGIONS)], TYPES[(i // 40) % len(TYPES)]
    name = f"{('web', 'api', 'db', 'batch', 'edge')[(i * 7919) % 5]}-{i:06d}"
    return bulk_resource_item(
        i,
        account=account,
        region=region,
        rtype=rtype,
        name=name,
        tags={"Name": name, "team": f"team-{i % 7}", "env": ("prod", "dev", "test")[i % 3]},
        metadata={"Size": "medium", "Index": str(i)},
    )


def seed_table(clients: AwsClientFactory, table_name: str, n: int, threads: int = 4) -> float:
    started = time.monotonic()

    def write(start: int) -> None:
        table = clients.dynamodb_table(table_name)
        with table.batch_writer() as batch:
            for i in range(start, n, threads):
                batch.put_item(Item=item(i))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(threads)))
    return time.monotonic() - started


def seed_accounts(clients: AwsClientFactory, table_name: str) -> None:
    with clients.dynamodb_table(table_name).batch_writer() as batch:
        for account_id, name in ACCOUNTS:
            batch.put_item(Item=Account(account_id, name, True).to_item())


def publish_snapshot(clients: AwsClientFactory, bucket: str, n: int) -> float:
    """The projector's writer, with the rows a full read of the seeded table gives (grid_row of each item)."""
    started = time.monotonic()
    S3SnapshotStore(clients.client("s3"), bucket).publish([grid_row(item(i)) for i in range(n)], [], watermark=0)
    return time.monotonic() - started


def journal(table: Any, items: list[dict[str, Any]]) -> None:
    """Append the items' grid rows to the journal exactly as the projector's store does (then write the items)."""
    chunks = journal_chunks([grid_row(x) for x in items])
    last = reserve_journal_entries(table, len(chunks))
    with table.batch_writer() as batch:
        for entry in journal_entry_items(last, chunks, datetime.now(UTC)):
            batch.put_item(Item=entry)


def journal_changes(clients: AwsClientFactory, table_name: str, n: int, changes: int, seed_items: bool) -> set[str]:
    """Mark changes/2 resources missing and add changes/2 new ones, journaled as the projector journals them."""
    table = clients.dynamodb_table(table_name)
    written: list[dict[str, Any]] = []
    for k in range(changes // 2):
        changed = item(1 + k * (n // max(1, changes)))
        changed.update(discoveryStatus="missing", missingSince="2026-11-29T02:00:00.000000Z")
        written += [changed, item(n + k)]
    for start in range(0, len(written), 50):  # pages of 25 resources, as pages arrive
        journal(table, written[start : start + 50])
    if seed_items:
        with table.batch_writer() as batch:
            for x in written:
                batch.put_item(Item=x)
    return {x["resourceArn"] for x in written if x["discoveryStatus"] == "missing"}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(p: float) -> float:
        rank = max(1, -(-len(ordered) * p // 100))  # nearest-rank percentile
        return round(ordered[int(rank) - 1], 1)

    return {
        "p50_ms": pick(50),
        "p95_ms": pick(95),
        "p99_ms": pick(99),
        "mean_ms": round(statistics.fmean(ordered), 1),
        "max_ms": round(ordered[-1], 1),
    }


class Client:
    def __init__(self, port: int, token: str) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        self._conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self._headers)
        response = self._conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return elapsed, json.loads(payload)


class ApiProcess:
    """A fresh API process (uvicorn), the way a new Lambda instance or container starts cold."""

    ARGS = ("--log-level", "warning", "--host", "127.0.0.1", "--port")

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "inventory_api.main:create_app", *self.ARGS, str(self.port)],
            env={**os.environ, **env},
        )
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the API process exited") from None
                time.sleep(0.02)
        self.start_ms = (time.monotonic() - started) * 1000

    def cpu_ms(self) -> float:
        """CPU time of the process so far (every thread), from /proc: insensitive to other load, unlike wall time."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> dict[str, float]:
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
        return {"rss_mb": fields["VmRSS"], "peak_rss_mb": fields["VmHWM"]}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def cold_runs(env: dict[str, str], token: str, scenarios: dict[str, str], total: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, path in scenarios.items():
        api = ApiProcess(env)
        try:
            client = Client(api.port, token)
            cpu_before = api.cpu_ms()
            first_ms, body = client.call("GET", path)
            first_cpu_ms = api.cpu_ms() - cpu_before
            if label == "first page":
                assert body["pagination"]["totalItems"] == total, body["pagination"]
            second_ms, _ = client.call("GET", path)
            deep_ms, _ = client.call("GET", path + ("&" if "?" in path else "?") + "page=200")
            results[label] = {
                "process_start_ms": round(api.start_ms),
                "first_request_ms": round(first_ms, 1),
                "first_request_cpu_ms": round(first_cpu_ms),
                "total_items": body["pagination"]["totalItems"],
                "second_request_ms": round(second_ms, 1),
                "then_page_200_ms": round(deep_ms, 1),
                **api.memory_mb(),
            }
        finally:
            api.stop()
        print(f"cold {label:14s} {results[label]}", flush=True)
    return results


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "moto": moto.__version__,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "priority": priority(),
    }


def priority() -> str:
    """The benchmark's scheduling priority (benchmarks/quiet.sh raises it above other work)."""
    try:
        group = Path("/proc/self/autogroup").read_text().strip()
    except OSError:
        group = "no autogroup"
    return f"{group}, process nice {os.nice(0)}"


def stack(state: Path) -> tuple[AwsClientFactory, dict[str, str]]:
    clients = AwsClientFactory(HOME_REGION)
    env = provision(
        clients, build_topology(HOME_ACCOUNT, HOME_REGION, prefix=f"bench{int(time.time())}-"), state_dir=state
    )
    env["AUTH_LOCAL_KEY_FILE"] = str(state / "auth.key")
    env["RATE_LIMIT_PER_MINUTE"] = "1000000"
    # moto answers one request at a time; more parallel reads only lengthen each call. AWS: keep the default 8.
    env["READ_MODEL_PARALLELISM"] = "4"
    os.environ.update(env)
    return clients, env


def run(n: int, requests: int, memory_only: bool) -> dict[str, Any]:
    load_before = os.getloadavg()
    own_moto = not os.environ.get("AWS_ENDPOINT_URL")
    server = MotoServer.start() if own_moto else None
    if server:
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint})
    os.environ.update({"AWS_DEFAULT_REGION": HOME_REGION, "AWS_REGION": HOME_REGION})
    state = Path(tempfile.mkdtemp(prefix="bench-api-"))  # a fresh Iceberg catalog for the fresh moto
    report: dict[str, Any] = {"benchmark": "api", "resources": n, "memory_only": memory_only}
    try:
        clients, env = stack(state)
        seed_accounts(clients, env["APP_TABLE_NAME"])
        if not memory_only:
            print(f"seeding {n} resources ...", flush=True)
            report["seed_table_seconds"] = round(seed_table(clients, env["APP_TABLE_NAME"], n), 1)
            print(f"seeded in {report['seed_table_seconds']} s", flush=True)
        publish_s = publish_snapshot(clients, env["INVENTORY_BUCKET"], n)
        head = clients.client("s3").head_object(Bucket=env["INVENTORY_BUCKET"], Key=SNAPSHOT_KEY)
        report["snapshot"] = {"publish_seconds": round(publish_s, 1), "bytes": head["ContentLength"]}
        missing = journal_changes(clients, env["APP_TABLE_NAME"], n, CHANGES, seed_items=not memory_only)
        total = n + CHANGES // 2
        print(f"snapshot {report['snapshot']}, {CHANGES} changes journaled after it", flush=True)
        token = mint_local_token(
            load_or_create_local_key(Path(env["AUTH_LOCAL_KEY_FILE"])), "bench", "viewer", ttl_s=7200
        )

        rng = random.Random(7)
        cold_scenarios = {
            "first page": "/api/inventory/resources",
            "filtered page": "/api/inventory/resources?resourceType=ec2&region=eu-west-1&status=active",
            "sorted page": "/api/inventory/resources?sortBy=lastDiscoveredAt&sortOrder=desc",
            "search": f"/api/inventory/resources?search=-{rng.randrange(n // 10):05d}",
        }
        report["cold"] = cold_runs(
            env, token, cold_scenarios if not memory_only else dict(list(cold_scenarios.items())[:1]), total
        )
        if memory_only:
            return report

        api = ApiProcess(env)
        try:
            client = Client(api.port, token)
            for arn in sorted(missing)[:20]:  # the journaled changes are there (a sample: each call is a search)
                _, found = client.call("GET", f"/api/inventory/resources?search={arn}")
                assert found["items"][0]["discoveryStatus"] == "missing", f"the journaled change of {arn} is missing"
            scenarios: dict[str, list[str]] = {
                "first page": ["/api/inventory/resources"] * requests,
                "filtered page": [
                    f"/api/inventory/resources?resourceType={rng.choice(TYPES)}&region={rng.choice(REGIONS)}"
                    "&status=active"
                    for _ in range(requests)
                ],
                # "-01234" matches the ten names -012340 .. -012349: a full substring pass, a small result
                "search": [f"/api/inventory/resources?search=-{rng.randrange(n // 10):05d}" for _ in range(requests)],
                "page 200": ["/api/inventory/resources?page=200"] * requests,
            }
            warm: dict[str, Any] = {}
            for label, paths in scenarios.items():
                warm[label] = percentiles([client.call("GET", path)[0] for path in paths])
                print(f"warm {label:14s} {warm[label]}", flush=True)
            report["warm"] = warm

            # a change journaled now (as the projector writes it) shows within the refresh interval
            changed = item(3)
            changed.update(discoveryStatus="missing", missingSince="2026-11-30T02:00:00.000000Z")
            table = clients.dynamodb_table(env["APP_TABLE_NAME"])
            started = time.monotonic()
            journal(table, [changed])
            table.put_item(Item=changed)
            query = f"/api/inventory/resources?search={changed['resourceId']}"
            while client.call("GET", query)[1]["items"][0]["discoveryStatus"] != "missing":
                time.sleep(0.05)
            report["warm_change_visible_after_s"] = round(time.monotonic() - started, 2)
            print(f"a journaled change showed after {report['warm_change_visible_after_s']} s", flush=True)
            report["warm_memory"] = api.memory_mb()

            export_ms, exported = client.call("POST", "/api/inventory/resources/export", {})
            with urllib.request.urlopen(exported["downloadUrl"]) as download:
                size = len(download.read())
            report["export_all_rows"] = {
                "rows": total,
                "seconds": round(export_ms / 1000, 1),
                "xlsx_bytes": size,
                **api.memory_mb(),
            }
            print(f"export: {report['export_all_rows']}", flush=True)
        finally:
            api.stop()
    finally:
        if server:
            server.stop()
        shutil.rmtree(state, ignore_errors=True)
        report["machine"] = machine(load_before)
    report["requests_per_scenario"] = requests
    report["transport"] = "HTTP/1.1 keep-alive to uvicorn on 127.0.0.1, one client, sequential"
    report["targets"] = {"cold_first_request_ms": TARGET_COLD_MS, "warm_first_page_p95_ms": TARGET_P95_MS}
    report["meets_targets"] = (
        all(c["first_request_ms"] < TARGET_COLD_MS for c in report["cold"].values())
        and report["warm"]["first page"]["p95_ms"] < TARGET_P95_MS
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--memory-only", action="store_true", help="snapshot only; report a cold process's memory")
    args = parser.parse_args()
    report = run(args.resources, args.requests, args.memory_only)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-memory" if args.memory_only else ""
    (RESULTS / f"api-{args.resources}{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
    sys.exit(0 if report.get("meets_targets", True) else 1)


if __name__ == "__main__":
    main()
