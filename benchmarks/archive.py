"""Raw archiver cost of the day's union document on the emulator (issue 15).

One account, ``--resources`` items of 8 types in 4 regions (about 1 KB of raw JSON each), staged in pages of
100. Measures: assembling the full scan's day document; merging a narrow one-scope scan into it; the floor
(one bare GET + PUT of the same document); and ``--writers`` assemblers merging different scopes at once
(conflicts retried, every scope kept).

Run: ``.venv/bin/python benchmarks/archive.py [--resources N] [--writers W]``.
Writes benchmarks/results/archive.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto
from archiver.adapters.s3_store import S3ObjectStore
from archiver.ports import WriteConflictError
from archiver.service import ArchiverService, raw_key
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import create_bucket
from inventory_core.aws import AwsClientFactory
from inventory_events import AccountScanCompleted, Resource, ResourcesDiscovered, Scope, ScopeSummary

ACCOUNT = "111111111111"
TYPES = ("ec2", "ecs", "lambda", "rds", "dynamodb", "s3", "vpc", "elbv2")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PAGE = 100


def raw_item(n: int, region: str, resource_type: str) -> dict[str, Any]:
    return {
        "Id": f"{resource_type}-{region}-{n:06d}",
        "Arn": f"arn:aws:{resource_type}:{region}:{ACCOUNT}:thing/{n:06d}",
        "State": {"Name": "running", "Code": 16},
        "Tags": [{"Key": f"tag{k}", "Value": "v" * 40} for k in range(12)],
        "Description": "x" * 200,
    }


def resource(n: int, region: str, resource_type: str, at: datetime) -> Resource:
    return Resource(
        resource_id=f"{resource_type}-{n:06d}",
        resource_arn=f"arn:aws:{resource_type}:{region}:{ACCOUNT}:thing/{n:06d}",
        resource_type=resource_type,
        account_id=ACCOUNT,
        region=region,
        name=f"r{n}",
        discovered_at=at,
        raw=raw_item(n, region, resource_type),
    )


def scan(
    service: ArchiverService, execution_id: str, started: datetime, scopes: dict[tuple[str, str], int]
) -> tuple[AccountScanCompleted, float]:
    """Stage every page, then return the AccountScanCompleted and the staging time."""
    t0 = time.perf_counter()
    summaries = []
    n = 0
    for (region, resource_type), count in scopes.items():
        scope = Scope(account_id=ACCOUNT, region=region, resource_type=resource_type)
        items = [resource(n + i, region, resource_type, started) for i in range(count)]
        n += count
        pages = [items[i : i + PAGE] for i in range(0, count, PAGE)]
        for page_no, page in enumerate(pages, 1):
            service.handle(
                ResourcesDiscovered(
                    execution_id=execution_id, scope=scope, page=page_no, scan_started_at=started, resources=page
                )
            )
        summaries.append(ScopeSummary(scope=scope, status="complete", resource_count=count, page_count=len(pages)))
    done = AccountScanCompleted(
        execution_id=execution_id,
        account_id=ACCOUNT,
        status="success",
        resource_count=sum(scopes.values()),
        duration_ms=1,
        scan_started_at=started,
        scopes=summaries,
    )
    return done, time.perf_counter() - t0


class CountingStore(S3ObjectStore):
    """The S3 store, counting the conditional writes it lost."""

    conflicts = 0
    lock = threading.Lock()

    def put_json_if(self, key: str, document: Any, *, etag: str | None) -> None:
        try:
            super().put_json_if(key, document, etag=etag)
        except WriteConflictError:
            with CountingStore.lock:
                CountingStore.conflicts += 1
            raise


def timed(call: Any) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    server = MotoServer.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ.update({"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": "us-east-1"})
    try:
        clients = AwsClientFactory("us-east-1")
        bucket = "bench-archive"
        create_bucket(clients, bucket, raw_prefix="raw/", raw_days=365, versioned=True, noncurrent_days=30)
        s3 = clients.client("s3")
        service = ArchiverService(S3ObjectStore(s3, bucket))
        per_scope = args.resources // (len(TYPES) * len(REGIONS))
        full = {(r, t): per_scope for t in TYPES for r in REGIONS}
        done, staging_s = scan(service, "full", T0, full)
        key = raw_key(done)
        assemble_s = timed(lambda: service.handle(done))
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        floor_s = timed(
            lambda: (
                s3.put_object(Bucket=bucket, Key="floor", Body=body),
                s3.get_object(Bucket=bucket, Key="floor")["Body"].read(),
            )
        )
        narrow, _ = scan(service, "narrow", T0 + timedelta(hours=1), {("us-east-1", "ec2"): per_scope})
        narrow_s = timed(lambda: service.handle(narrow))
        replay_s = timed(lambda: service.handle(narrow))
        # W assemblers at once, each merging a different scope of its own scan
        rivals = []
        for w in range(args.writers):
            writer = ArchiverService(CountingStore(clients.client("s3"), bucket), conflict_backoff_s=0.05)
            event, _ = scan(writer, f"w{w}", T0 + timedelta(hours=2, minutes=w), {(REGIONS[w % 4], f"extra{w}"): 50})
            rivals.append((writer, event))
        errors: list[BaseException] = []

        def run(writer: ArchiverService, event: AccountScanCompleted) -> None:
            try:
                writer.handle(event)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=pair) for pair in rivals]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent_s = time.perf_counter() - t0
        final = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        kept = {s["resourceType"] for s in final["scopes"]}
        versions = len(s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []))
        result = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} vCPU, {platform.platform()}, Python {sys.version.split()[0]}, "
            f"moto {moto.__version__}",
            "load_average": os.getloadavg(),
            "resources": per_scope * len(full),
            "document_bytes": size,
            "staging_s": round(staging_s, 2),
            "assemble_full_s": round(assemble_s, 2),
            "floor_get_put_s": round(floor_s, 2),
            "merge_narrow_scope_s": round(narrow_s, 2),
            "replay_no_write_s": round(replay_s, 2),
            "concurrent_writers": args.writers,
            "concurrent_s": round(concurrent_s, 2),
            "concurrent_conflicts_retried": CountingStore.conflicts,
            "concurrent_errors": [repr(e) for e in errors],
            "all_scopes_kept": all(f"extra{w}" in kept for w in range(args.writers)) and set(TYPES) <= kept,
            "document_versions": versions,
            "final_resource_count": final["resourceCount"],
        }
    finally:
        server.stop()
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / "archive.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
