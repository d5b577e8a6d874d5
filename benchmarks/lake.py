"""Lake writer pace on the emulator: consecutive scans of N resources fed to two concurrent writers while the
"scan" publishes its pages over ``--scan-s`` seconds, as the soak's scanner does (pages of 500, one completion
per scope, 5% deleted / 5% created / 10% changed between scans). Per scan: when the writers were done after
the last event was published (the lake writer's tail), the time per store operation, and the process RSS.

Run: ``benchmarks/quiet.sh .venv/bin/python benchmarks/lake.py --scans 6 --resources 10000``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.topology import build_topology
from inventory_events import AnyEvent, Resource, ResourcesDiscovered, ScopeCompleted
from lake_writer.adapters.iceberg_store import IcebergLakeStore
from lake_writer.bootstrap import build_service
from lake_writer.ports import CommitConflictError
from lake_writer.service import LakeWriterService
from lake_writer.settings import LakeWriterSettings

from tests.builders import scan_events

ACCOUNTS = ("210987654321", "310987654321", "410987654321")
REGIONS = ("us-east-1", "eu-west-1")
PAGE = 500
BATCH = 100  # events per batch (the soak's 6 MB cap closes them at about 23-40: --batch 30 --page 100)
WINDOW_S = 10.0  # fixed so runs compare (the deploy: inventory_core.topology.CONSUMER_BATCHING_WINDOWS_S)
RETRY_S = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Fleet:
    def __init__(self, n: int) -> None:
        self.rng = random.Random(7)
        self.next = 0
        self.items: dict[str, tuple[str, str, str, str, int]] = {}  # arn -> account, region, type, state, version
        for _ in range(n):
            self.add()

    def add(self) -> None:
        i = self.next
        self.next += 1
        account = ACCOUNTS[i % 3]
        rtype = "ec2" if i % 10 < 8 else ("vpc" if i % 2 else "s3")
        region = "global" if rtype == "s3" else REGIONS[(i // 3) % 2]
        arn = f"arn:aws:{rtype}:{region}:{account}:{rtype}/r-{i:08d}"
        self.items[arn] = (account, region, rtype, "running", 0)

    def churn(self) -> None:
        arns = sorted(self.items)
        n = len(arns)
        for arn in self.rng.sample(arns, n // 20):
            del self.items[arn]
        for _ in range(n // 20):
            self.add()
        for arn in self.rng.sample(sorted(self.items), n // 10):
            a, r, t, state, v = self.items[arn]
            self.items[arn] = (a, r, t, "stopped" if state == "running" else "running", v + 1)

    def scan(self, execution_id: str, started: datetime, page: int) -> list[AnyEvent]:
        by_scope: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        for arn, (account, region, rtype, state, version) in sorted(self.items.items()):
            rid = arn.rsplit("/", 1)[1]
            by_scope[(account, region, rtype)].append(
                Resource(
                    resource_id=rid,
                    resource_arn=arn,
                    resource_type=rtype,
                    account_id=account,
                    region=region,
                    name=rid,
                    state=state,
                    tags={"Name": rid, "team": "platform", "v": str(version)},
                    metadata={"az": f"{region}a"},
                    discovered_at=started + timedelta(seconds=1),
                )
            )
        found = [r for scope_resources in by_scope.values() for r in scope_resources]
        events: list[AnyEvent] = [
            e
            for e in scan_events(execution_id, started, found, page_size=page)
            if isinstance(e, ResourcesDiscovered | ScopeCompleted)  # what the lake writer consumes
        ]
        # the scanner's scopes run concurrently: pages of different scopes interleave
        self.rng.shuffle(events)
        return events


class Timed:
    """Wraps the store: seconds per operation."""

    def __init__(self, store: Any, totals: dict[str, float], lock: threading.Lock) -> None:
        self._store = store
        self._totals = totals
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                with self._lock:
                    self._totals[name] += time.perf_counter() - t0

        return timed


def time_commits(totals: dict[str, float], conflicts: dict[str, int], lock: threading.Lock) -> None:
    """Seconds per table's commits and the conflicts each table's commits lost (recomputed by the service)."""
    original = IcebergLakeStore._commit

    def commit(self: IcebergLakeStore, table: Any, change: Any) -> None:
        name = f"commit:{table.name()[-1]}"
        t0 = time.perf_counter()
        try:
            original(self, table, change)
        except CommitConflictError:
            with lock:
                conflicts[name] += 1
            raise
        finally:
            with lock:
                totals[name] += time.perf_counter() - t0

    IcebergLakeStore._commit = commit  # type: ignore[method-assign]


def lake_objects(bucket: str) -> tuple[int, float]:
    """Objects and MB under the lake bucket (what the emulator holds for the lake)."""
    client = AwsClientFactory("us-east-1").client("s3")
    count, size = 0, 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            count += 1
            size += int(item["Size"])
    return count, round(size / 1e6, 1)


class Queue:
    """Events become visible as the scan publishes them; pending completions come back after RETRY_S."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.visible: list[tuple[float, AnyEvent]] = []
        self.in_flight = 0

    def put(self, event: AnyEvent, at: float) -> None:
        with self.lock:
            self.visible.append((at, event))

    def take(self, window_s: float, batch_size: int) -> list[AnyEvent]:
        deadline: float | None = None
        while True:
            now = time.monotonic()
            with self.lock:
                ready = [e for at, e in self.visible if at <= now]
                if ready and deadline is None:
                    deadline = now + window_s
                if ready and (len(ready) >= batch_size or (deadline is not None and now >= deadline)):
                    batch = ready[:batch_size]
                    ids = {id(e) for e in batch}
                    self.visible = [(at, e) for at, e in self.visible if id(e) not in ids]
                    self.in_flight += 1
                    return batch
            time.sleep(0.05)

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def empty(self) -> bool:
        with self.lock:
            return not self.visible and self.in_flight == 0


def writer(
    service: LakeWriterService, queue: Queue, stop: threading.Event, log: list[dict[str, Any]], batch_size: int
) -> None:
    while not stop.is_set():
        batch = queue.take(WINDOW_S, batch_size)
        t0 = time.monotonic()
        try:
            service.apply(batch)
            pending: set[str] = set()
        except Exception as exc:  # a whole batch fails: every record comes back
            print(json.dumps({"error": repr(exc)[:200]}), flush=True)
            pending = {str(e.event_id) for e in batch}
        back = time.monotonic() + RETRY_S
        for event in batch:
            if str(event.event_id) in pending:
                queue.put(event, back)
        log.append({"records": len(batch), "s": round(time.monotonic() - t0, 2), "pending": len(pending)})
        queue.done()


def run(scans: int, resources: int, scan_s: float, writers: int, page: int, batch_size: int) -> None:
    server = MotoServer.start(timeout_s=180)
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update(
        {"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    )
    state = Path(f"/tmp/bench-lake-{uuid.uuid4().hex[:8]}")
    env = provision(
        AwsClientFactory("us-east-1"),
        build_topology("123456789012", "us-east-1", prefix=f"b{uuid.uuid4().hex[:6]}-"),
        state_dir=state,
    )
    os.environ.update(env)
    bucket = env["ICEBERG_WAREHOUSE"].removeprefix("s3://").split("/", 1)[0]
    totals: dict[str, float] = defaultdict(float)
    conflicts: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    time_commits(totals, conflicts, lock)
    services = []
    for _ in range(writers):
        service = build_service(LakeWriterSettings())
        service._store = Timed(service._store, totals, lock)
        services.append(service)
    queue = Queue()
    stop = threading.Event()
    log: list[dict[str, Any]] = []
    for service in services:
        threading.Thread(target=writer, args=(service, queue, stop, log, batch_size), daemon=True).start()
    fleet = Fleet(resources)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        for n in range(1, scans + 1):
            if n > 1:
                fleet.churn()
            events = fleet.scan(f"exec-{n}", t0 + timedelta(hours=n), page)
            totals.clear()
            conflicts.clear()
            del log[:]
            began = time.monotonic()
            for i, event in enumerate(events):
                queue.put(event, began + scan_s * (i + 1) / len(events))
            published = began + scan_s
            while not queue.empty() or time.monotonic() < published:
                time.sleep(0.1)
            tail = time.monotonic() - published
            row = {
                "scan": n,
                "resources": len(fleet.items),
                "events": len(events),
                "scan_s": scan_s,
                "tail_s": round(tail, 1),
                "ratio": round((scan_s + tail) / scan_s, 2),
                "batches": len(log),
                "batch_s": sorted(b["s"] for b in log),
                "ops_s": {k: round(v, 1) for k, v in sorted(totals.items())},
                "conflicts": dict(sorted(conflicts.items())),
                "rss_mb": round(rss_mb(), 1),
                "lake_objects_mb": lake_objects(bucket),
            }
            print(json.dumps(row), flush=True)
    finally:
        stop.set()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=4)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--scan-s", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--page", type=int, default=PAGE, help="resources per page")
    parser.add_argument("--batch", type=int, default=BATCH, help="events per batch")
    args = parser.parse_args()
    run(args.scans, args.resources, args.scan_s, args.writers, args.page, args.batch)


if __name__ == "__main__":
    main()
