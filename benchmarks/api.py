"""API latency at 100,000 resources on the emulator, over HTTP (uvicorn on 127.0.0.1).

Seeds N resource items (the projector's TRD item shape) into a fresh stack on a moto server, starts
the real app under uvicorn with its default read-model settings, then measures p50/p95/p99 of 200
sequential requests each: the first page, a filtered page (type x region x status, 32 combinations),
a search (200 different terms, each a full substring pass) and page 200. Also times the cold
snapshot load and one export of every row (rows, seconds, file size, peak RSS growth).

Run: ``make bench-api`` (or ``.venv/bin/python benchmarks/api.py [--resources N] [--requests N]``).
Writes benchmarks/results/api.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import moto
import uvicorn
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer, free_port
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.topology import build_topology

RESULTS = Path(__file__).parent / "results" / "api.json"
HOME_ACCOUNT, HOME_REGION = "123456789012", "us-east-1"
ACCOUNTS = [(f"{100_000_000_000 + i * 111_111_111:012d}", f"account-{i}") for i in range(10)]
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
TYPES = ("ec2", "lambda", "rds", "s3", "vpc", "elbv2", "ecs", "dynamodb")
TARGET_P95_MS = 300.0


def item(i: int) -> dict[str, Any]:
    account = ACCOUNTS[i % len(ACCOUNTS)][0]
    region, rtype = REGIONS[(i // 10) % len(REGIONS)], TYPES[(i // 40) % len(TYPES)]
    rid = f"{rtype}-{i:08d}"
    arn = f"arn:aws:{rtype}:{region}:{account}:{rtype}/{rid}"
    name = f"{random.choice(('web', 'api', 'db', 'batch', 'edge'))}-{i:06d}"
    seen = f"2026-11-{1 + i % 25:02d}T02:{i % 60:02d}:00.000000Z"
    return {
        "pk": f"ACCOUNT#{account}",
        "sk": f"INVENTORY#{rtype}#{arn}",
        "gsi1pk": "TYPE#INVENTORY",
        "gsi1sk": f"{rtype}#{region}#{name}",
        "gsi2pk": f"REGION#{region}",
        "gsi2sk": f"{rtype}#{seen}",
        "gsi3pk": f"RESOURCE_TYPE#{rtype}",
        "gsi3sk": f"{account}#{rid}",
        "resourceId": rid,
        "resourceArn": arn,
        "resourceType": rtype,
        "accountId": account,
        "name": name,
        "region": region,
        "state": "running" if i % 4 else "stopped",
        "tags": {"Name": name, "team": f"team-{i % 7}", "env": ("prod", "dev", "test")[i % 3]},
        "metadata": {"Size": "medium", "Index": str(i)},
        "lastDiscoveredAt": seen,
        "firstDiscoveredAt": "2026-10-01T02:00:00.000000Z",
        "discoveryStatus": "missing" if i % 50 == 0 else "active",
    }


def seed(clients: AwsClientFactory, table_name: str, n: int, threads: int = 4) -> float:
    started = time.monotonic()

    def write(start: int) -> None:
        table = clients.dynamodb_table(table_name)
        with table.batch_writer() as batch:
            for i in range(start, n, threads):
                batch.put_item(Item=item(i))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(threads)))
    with clients.dynamodb_table(table_name).batch_writer() as batch:
        for account_id, name in ACCOUNTS:
            batch.put_item(Item=Account(account_id, name, True).to_item())
    return time.monotonic() - started


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


def run(n: int, requests: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    own_moto = not os.environ.get("AWS_ENDPOINT_URL")
    server = MotoServer.start() if own_moto else None
    if server:
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint})
    os.environ.update({"AWS_DEFAULT_REGION": HOME_REGION, "AWS_REGION": HOME_REGION})
    state = Path(tempfile.mkdtemp(prefix="bench-api-"))  # a fresh Iceberg catalog for the fresh moto
    try:
        clients = AwsClientFactory(HOME_REGION)
        env = provision(
            clients, build_topology(HOME_ACCOUNT, HOME_REGION, prefix=f"bench{int(time.time())}-"), state_dir=state
        )
        env["AUTH_LOCAL_KEY_FILE"] = str(state / "auth.key")
        env["RATE_LIMIT_PER_MINUTE"] = "1000000"
        # moto answers one request at a time (GIL) and every page walks the whole table: more parallel
        # partition reads only lengthen each call past the client's read timeout. AWS: keep the default 8.
        env["READ_MODEL_PARALLELISM"] = "2"
        os.environ.update(env)
        print(f"seeding {n} resources ...", flush=True)
        seed_s = seed(clients, env["APP_TABLE_NAME"], n)
        print(f"seeded in {seed_s:.1f} s", flush=True)

        port = free_port()
        uv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=uv.run, daemon=True).start()
        while not uv.started:
            time.sleep(0.05)
        token = mint_local_token(
            load_or_create_local_key(Path(env["AUTH_LOCAL_KEY_FILE"])), "bench", "viewer", ttl_s=7200
        )
        client = Client(port, token)

        cold_ms, first = client.call("GET", "/api/inventory/resources")
        assert first["pagination"]["totalItems"] == n, first["pagination"]
        print(f"cold snapshot load: {cold_ms / 1000:.1f} s", flush=True)

        rng = random.Random(7)
        scenarios: dict[str, list[str]] = {
            "first page": ["/api/inventory/resources"] * requests,
            "filtered page": [
                f"/api/inventory/resources?resourceType={rng.choice(TYPES)}&region={rng.choice(REGIONS)}&status=active"
                for _ in range(requests)
            ],
            # "-01234" matches the ten names -012340 .. -012349: a full substring pass, a small result
            "search": [f"/api/inventory/resources?search=-{rng.randrange(n // 10):05d}" for _ in range(requests)],
            "page 200": ["/api/inventory/resources?page=200"] * requests,
        }
        results: dict[str, Any] = {}
        for label, paths in scenarios.items():
            samples = [client.call("GET", path)[0] for path in paths]
            results[label] = percentiles(samples)
            print(f"{label:14s} {results[label]}", flush=True)

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        export_ms, exported = client.call("POST", "/api/inventory/resources/export", {})
        with urllib.request.urlopen(exported["downloadUrl"]) as download:
            size = len(download.read())
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        export = {
            "rows": n,
            "seconds": round(export_ms / 1000, 1),
            "xlsx_bytes": size,
            "peak_rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
            "peak_rss_mb": round(rss_after / 1024, 1),
        }
        print(f"export: {export}", flush=True)
        uv.should_exit = True
    finally:
        if server:
            server.stop()
        shutil.rmtree(state, ignore_errors=True)
    return {
        "benchmark": "api",
        "resources": n,
        "requests_per_scenario": requests,
        "transport": "HTTP/1.1 keep-alive to uvicorn on 127.0.0.1, one client, sequential",
        "read_model": "in-process snapshot, default READ_MODEL_TTL_S/READ_MODEL_STALE_S",
        "seed_seconds": round(seed_s, 1),
        "cold_snapshot_load_seconds": round(cold_ms / 1000, 1),
        "latency": results,
        "export_all_rows": export,
        "target_p95_first_page_ms": TARGET_P95_MS,
        "meets_target": results["first page"]["p95_ms"] < TARGET_P95_MS,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "moto": moto.__version__,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    report = run(args.resources, args.requests)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["latency"], indent=2))
    sys.exit(0 if report["meets_target"] else 1)


if __name__ == "__main__":
    main()
