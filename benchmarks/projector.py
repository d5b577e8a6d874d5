"""Projector throughput on the emulator: 10,000 resources through the real handler, against a bare
BatchWriteItem loop writing the same items to the same moto server in the same run.

Run: ``make bench-projector`` (or ``.venv/bin/python benchmarks/projector.py [--resources N] [--check]``).
Writes benchmarks/results/projector.json.

``--sweep``: the end of a scan instead. One scope of N resources; each round a scan sees all but ``--gone`` of
them (a different slice each round) and its sweep marks those missing; rounds alternate the sweep's updates in
flight (``--sweep-threads``), so load hits each setting alike. Writes benchmarks/results/projector-sweep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto
from boto3.dynamodb.conditions import Attr, Key
from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore, resource_item
from ddb_projector.bootstrap import build_service
from ddb_projector.handler import handle_batch
from ddb_projector.service import ProjectorService
from ddb_projector.settings import ProjectorSettings
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import create_table
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account, account_pk, resource_sk_prefix
from inventory_core.sqs import sqs_event_from_events
from inventory_core.timefmt import iso
from inventory_core.topology import build_topology
from inventory_events import (
    AccountScanCompleted,
    AnyEvent,
    Resource,
    ResourcesDiscovered,
    ScanCompleted,
    Scope,
    ScopeCompleted,
)
from inventory_events.scanner import AccountSummary

RESULTS = Path(__file__).parent / "results" / "projector.json"
ACCOUNT = "210987654321"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
TYPES = ("ec2", "lambda", "rds", "vpc", "elbv2")
PAGE = 500  # the scanner's page_max_items
BATCH = 10  # records per handler call, fixed so runs compare (the deploy: inventory_core.topology.CONSUMER_BATCH_SIZES)
TARGET_RATIO = 0.5


def fleet(n: int, seen: datetime, state: str) -> list[Resource]:
    resources = []
    for i in range(n):
        region, rtype = REGIONS[i % len(REGIONS)], TYPES[(i // len(REGIONS)) % len(TYPES)]
        rid = f"{rtype}-{i:08d}"
        resources.append(
            Resource(
                resource_id=rid,
                resource_arn=f"arn:aws:{rtype}:{region}:{ACCOUNT}:{rtype}/{rid}",
                resource_type=rtype,
                account_id=ACCOUNT,
                region=region,
                name=f"bench-{i:06d}",
                state=state,
                tags={"Name": f"bench-{i:06d}", "team": "platform", "env": "bench"},
                metadata={"size": "small", "az": f"{region}a"},
                discovered_at=seen,
            )
        )
    return resources


def scan(execution_id: str, started: datetime, resources: list[Resource]) -> list[AnyEvent]:
    by_scope: dict[tuple[str, str], list[Resource]] = {}
    for r in resources:
        by_scope.setdefault((r.region, r.resource_type), []).append(r)
    events: list[AnyEvent] = []
    for (region, rtype), found in by_scope.items():
        scope = Scope(account_id=ACCOUNT, region=region, resource_type=rtype)
        pages = [found[i : i + PAGE] for i in range(0, len(found), PAGE)]
        for n, chunk in enumerate(pages, start=1):
            events.append(
                ResourcesDiscovered(
                    execution_id=execution_id, scope=scope, page=n, scan_started_at=started, resources=chunk
                )
            )
        events.append(
            ScopeCompleted(
                execution_id=execution_id,
                scope=scope,
                status="complete",
                resource_count=len(found),
                page_count=len(pages),
                scan_started_at=started,
            )
        )
    events.append(
        AccountScanCompleted(
            execution_id=execution_id,
            account_id=ACCOUNT,
            status="success",
            resource_count=len(resources),
            duration_ms=1000,
            scan_started_at=started,
        )
    )
    events.append(
        ScanCompleted(
            execution_id=execution_id,
            scan_started_at=started,
            duration_ms=1000,
            accounts=[AccountSummary(account_id=ACCOUNT, status="success", resource_count=len(resources))],
        )
    )
    return events


def bare_loop(client: Any, table: str, resources: list[Resource], execution_id: str) -> float:
    """The same items, BatchWriteItem 25 at a time, no reads, no conditions: the emulator's ceiling."""
    items = [resource_item(r, execution_id, iso(r.discovered_at), None, timedelta(days=30)) for r in resources]
    t0 = time.perf_counter()
    for i in range(0, len(items), 25):
        pending = [{"PutRequest": {"Item": item}} for item in items[i : i + 25]]
        while pending:
            response = client.batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
    return len(items) / (time.perf_counter() - t0)


def project(events: list[AnyEvent], resources: int, service: ProjectorService | None = None) -> float:
    service = service or build_service(ProjectorSettings())
    queue = list(events)
    t0 = time.perf_counter()
    for _ in range(len(events) * 5):
        if not queue:
            break
        batch, queue = queue[:BATCH], queue[BATCH:]
        sqs_event = sqs_event_from_events(
            batch, queue_arn="arn:aws:sqs:us-east-1:123456789012:bench", region="us-east-1"
        )
        failed = {f["itemIdentifier"] for f in handle_batch(sqs_event, None, service)["batchItemFailures"]}
        queue += [e for e, r in zip(batch, sqs_event["Records"], strict=True) if r["messageId"] in failed]
    if queue:
        raise RuntimeError(f"{len(queue)} events never applied")
    return resources / (time.perf_counter() - t0)


def count_active(table: Any) -> int:
    total, kwargs = (
        0,
        {
            "KeyConditionExpression": Key("pk").eq(account_pk(ACCOUNT)) & Key("sk").begins_with(resource_sk_prefix()),
            "FilterExpression": Attr("discoveryStatus").eq("active"),
            "Select": "COUNT",
        },
    )
    while True:
        response = table.query(**kwargs)
        total += int(response["Count"])
        if "LastEvaluatedKey" not in response:
            return total
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(n: int, scans: int) -> int:
    """Consecutive scans through one projector (snapshot publisher on, as in AWS), 5% of the fleet gone in each
    and every other item changed: RSS and the Python heap (tracemalloc) after each, and what grew the most."""
    import tracemalloc

    server = MotoServer.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": "us-east-1"})
    try:
        clients = AwsClientFactory("us-east-1")
        spec = build_topology("123456789012", "us-east-1", prefix="mem-").table
        create_table(clients, spec)
        clients.client("s3").create_bucket(Bucket="mem-inventory")
        os.environ.update({"APP_TABLE_NAME": spec.name, "INVENTORY_BUCKET": "mem-inventory"})
        clients.dynamodb_table(spec.name).put_item(Item=Account(ACCOUNT, "bench", True).to_item())
        service = build_service(ProjectorSettings())
        tracemalloc.start(10)
        first: tracemalloc.Snapshot | None = None
        for k in range(scans):
            started = datetime(2026, 11, 1, 2, 0, tzinfo=UTC) + timedelta(days=k)
            everyone = fleet(n, started + timedelta(seconds=5), "running" if k % 2 else "stopped")
            seen = [r for i, r in enumerate(everyone) if (i + k) % 20]  # 5% missing, a different 5% each scan
            t0 = time.perf_counter()
            project(scan(f"mem-{k}", started, seen), len(seen), service)
            heap, _ = tracemalloc.get_traced_memory()
            print(
                json.dumps(
                    {
                        "scan": k + 1,
                        "s": round(time.perf_counter() - t0, 1),
                        "rss_mb": round(rss_mb()),
                        "heap_mb": round(heap / 2**20, 1),
                    }
                ),
                flush=True,
            )
            snapshot = tracemalloc.take_snapshot()
            if k == 1:
                first = snapshot  # after the warm-up scan (imports, pyarrow, first full publication)
            elif first is not None and k == scans - 1:
                for stat in snapshot.compare_to(first, "traceback")[:5]:
                    print(
                        f"  {stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks", stat.traceback.format()[-1]
                    )
    finally:
        server.stop()
    return 0


def measured_on(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """The result's machine and time: the load is read before the run, since the run itself loads the machine."""
    return {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "moto": moto.__version__,
            "load_average_before": [round(x, 2) for x in load_before],
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def sweeps(n: int, gone: int, rounds: int, threads: list[int], path: Path) -> int:
    """Time each round's sweep of one scope (see the module's ``--sweep``); exit 1 if a sweep marked wrong."""
    load_before = os.getloadavg()
    server = MotoServer.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": "us-east-1"})
    scope = Scope(account_id=ACCOUNT, region="us-east-1", resource_type="ec2")
    runs: list[dict[str, Any]] = []
    try:
        clients = AwsClientFactory("us-east-1")
        spec = build_topology("123456789012", "us-east-1", prefix="sweep-").table
        create_table(clients, spec)
        table = clients.dynamodb_table(spec.name)
        base = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
        everything = [
            r.model_copy(update={"region": "us-east-1", "resource_type": "ec2"}) for r in fleet(n, base, "running")
        ]
        for k in range(rounds + 1):  # round 0 only fills the scope
            started = base + timedelta(days=k)
            missed = {((k - 1) * gone + j) % n for j in range(gone)} if k else set()  # wraps around the scope
            seen = [
                r.model_copy(update={"discovered_at": started + timedelta(seconds=5)})
                for i, r in enumerate(everything)
                if i not in missed
            ]
            in_flight = threads[(k - 1) % len(threads)] if k else 4
            store = DynamoDbResourceStore(table, threads=in_flight)
            execution = f"sweep-{k}"
            for page, chunk in enumerate((seen[i : i + PAGE] for i in range(0, len(seen), PAGE)), start=1):
                store.apply_page(
                    ResourcesDiscovered(
                        execution_id=execution, scope=scope, page=page, scan_started_at=started, resources=chunk
                    )
                )
            t0 = time.perf_counter()
            marked = store.mark_missing(scope, started, execution)
            seconds = time.perf_counter() - t0
            if not k:
                continue
            if marked != len(missed):
                print(f"round {k}: marked {marked}, expected {len(missed)}", file=sys.stderr)
                return 1
            runs.append({"round": k, "in_flight": in_flight, "marked": marked, "seconds": round(seconds, 3)})
            print(f"round {k}: {in_flight} in flight, {marked} of {n} marked missing in {seconds:.2f} s")
    finally:
        server.stop()
    by_setting = {t: sorted(r["seconds"] for r in runs if r["in_flight"] == t) for t in threads}
    result = {
        "benchmark": "ddb_projector_sweep",
        "resources": n,
        "gone_per_scan": gone,
        "runs": runs,
        "median_seconds_by_in_flight": {str(t): v[len(v) // 2] for t, v in by_setting.items() if v},
        **measured_on(load_before),
    }
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median seconds by updates in flight: {result['median_seconds_by_in_flight']}; wrote {path}")
    return 0


def _counts(text: str) -> list[int]:
    """``--sweep-threads``: positive whole numbers, comma-separated."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive whole numbers separated by commas, got {text!r}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=None, help="10,000 (--sweep: 4,000 in its one scope)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio is below the target")
    parser.add_argument("--memory-scans", type=int, default=0, help="measure memory over this many scans instead")
    parser.add_argument("--sweep", action="store_true", help="time the sweeps of one scope instead (see above)")
    parser.add_argument("--results", type=Path, default=None, help="--sweep: where the JSON result goes")
    parser.add_argument("--gone", type=int, default=334, help="--sweep: resources gone from each scan")
    parser.add_argument("--rounds", type=int, default=6, help="--sweep: scans swept")
    parser.add_argument(
        "--sweep-threads",
        type=_counts,
        default=[4, 16],
        help="--sweep: the store's threads (updates in flight), comma-separated, alternated by round",
    )
    args = parser.parse_args()
    n = args.resources or (4_000 if args.sweep else 10_000)
    if args.sweep:
        results = args.results or RESULTS.with_name("projector-sweep.json")
        return sweeps(n, args.gone, args.rounds, args.sweep_threads, results)
    if args.memory_scans:
        return memory(n, args.memory_scans)
    load_before = os.getloadavg()
    server = MotoServer.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update(
        {"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    )
    try:
        clients = AwsClientFactory("us-east-1")
        ours, bare = (
            build_topology("123456789012", "us-east-1", prefix="bench-").table,
            build_topology("123456789012", "us-east-1", prefix="bare-").table,
        )
        create_table(clients, ours)
        create_table(clients, bare)
        os.environ["APP_TABLE_NAME"] = ours.name
        table = clients.dynamodb_table(ours.name)
        table.put_item(Item=Account(ACCOUNT, "bench", True).to_item())
        bare_client = clients.dynamodb_table(bare.name).meta.client
        t1, t2 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC), datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
        first, second = fleet(n, t1 + timedelta(seconds=5), "running"), fleet(n, t2 + timedelta(seconds=5), "stopped")
        runs: list[dict[str, Any]] = []
        # alternate baseline and projector so load from other processes hits both alike
        for label, started, resources in (
            ("first scan (new items)", t1, first),
            ("rescan (every item newer)", t2, second),
        ):
            bare_rate = bare_loop(bare_client, bare.name, resources, label)
            ours_rate = project(scan(label, started, resources), n)
            runs.append(
                {
                    "run": label,
                    "projector_items_per_s": round(ours_rate, 1),
                    "bare_batch_write_items_per_s": round(bare_rate, 1),
                    "ratio": round(ours_rate / bare_rate, 3),
                }
            )
            print(
                f"{label}: projector {ours_rate:,.0f} items/s, "
                f"bare BatchWriteItem {bare_rate:,.0f} items/s, ratio {ours_rate / bare_rate:.2f}"
            )
        active = count_active(table)
        if active != n:
            raise RuntimeError(f"expected {n} active items, found {active}")
    finally:
        server.stop()
    result = {
        "benchmark": "ddb_projector",
        "resources": n,
        "page_size": PAGE,
        "sqs_batch_size": BATCH,
        "runs": runs,
        "min_ratio": min(r["ratio"] for r in runs),
        "target_ratio": TARGET_RATIO,
        "meets_target": min(r["ratio"] for r in runs) >= TARGET_RATIO,
        **measured_on(load_before),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 1 if args.check and not result["meets_target"] else 0


if __name__ == "__main__":
    sys.exit(main())
