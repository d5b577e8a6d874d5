"""Scan benchmark on the emulator: a seeded fleet scanned by the real scanner, against the floor.

The fleet (about 10,000 resources of the eight TRD types over 3 accounts x 4 regions by default) is
seeded into a fresh moto server. Then, each in its own process so peak RSS is the scanner's alone:

- ``scan``: the real ScanService (AssumeRole, paginated listing, tag enrichment, normalization, pages
  published to SNS with PublishBatch, which moto fans out to the three consumer queues);
- ``floor``: the same paginated listing calls made bare with boto3 (no tag calls), with the same
  concurrency, discarding the answers; the scan's tags (one Resource Groups Tagging API pass per account
  and region) must stay within 1.3x of it;
- ``pertag``: the floor plus the per-resource tag calls the scanner used to make (S3 get_bucket_tagging,
  Lambda list_tags, DynamoDB list_tags_of_resource, ELBv2 describe_tags), for comparison;
- ``catalogue``: the real scanner over every catalogue type the emulator implements (``SCAN_TYPES=emulator``)
  on the same fleet, reported as its own figure (calls, seconds, resources/s).

Each is run twice, alternating, and the faster run of each counts. Completeness compares the ARNs the
scan published with the seeded manifest (every ARN found, none invented).

Run: ``make bench-scan`` (or ``.venv/bin/python benchmarks/scan.py [--resources N]``).
Writes benchmarks/results/scan.json.

Peak RSS of scanner configurations on one large fleet (seeding 100,000 resources takes about 18 minutes)::

    benchmarks/scan.py --resources 100000 --serve /tmp/served.json &   # seeds, then keeps the emulator
    benchmarks/scan.py --against /tmp/served.json --variant 'as configured' \
        --variant 'arenas 2:MALLOC_ARENA_MAX=2' --variant 'pages 200:LIST_PAGE_SIZE_MAX=200'
    rm /tmp/served.json                                                # stops the served emulator

writes benchmarks/results/scan-rss-<N>k.json (each variant's scan in its own process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from inventory_core.aws import AwsClientFactory
from inventory_core.periodic import periodically
from inventory_core.publisher import EventPublisher
from inventory_events import AnyEvent, ResourcesDiscovered, ScanRequested, ScopeCompleted
from scanner.bootstrap import build_service, event_publisher
from scanner.catalog import TRD_TYPES
from scanner.service import ScanProgress
from scanner.settings import ScannerSettings

RESULTS = Path(__file__).parent / "results" / "scan.json"
HOME_ACCOUNT = "123456789012"
HOME_REGION = "us-east-1"
ACCOUNTS = [("310000000001", "bench-prod"), ("310000000002", "bench-stage"), ("310000000003", "bench-dev")]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]
TARGET_RATIO = 1.3
TARGET_RSS_MB = 300
#: moto keeps at most MOTO_RDS_SNAPSHOT_LIMIT (1,000) automated snapshots per account and region, one per DB
#: instance: a large fleet gets at most this many RDS instances per region and the other types the rest.
RDS_PER_CELL = 500
#: The queues the three consumers drain in AWS; the bench's stand-in purges them (not the scan-requests queue).
CONSUMER_QUEUES = ("DDB_PROJECTOR_QUEUE_URL", "LAKE_WRITER_QUEUE_URL", "ARCHIVER_QUEUE_URL")


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM of its own memory map.

    Not getrusage's ru_maxrss: Linux carries a forked child's pre-exec high-water mark (the parent's RSS at
    fork) into it, so every phase reported the harness's 290 MB.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB on Linux, bytes on macOS


class RecordingPublisher:
    """Publishes to SNS and writes the ARNs to a file for the completeness check.

    A file, not a set: 100,000 ARNs held in the scanner's process would count in its peak RSS.
    """

    def __init__(self, inner: EventPublisher, path: Path) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._file = path.open("w", encoding="utf-8")
        self.events = 0
        self.failed_scopes: list[dict[str, str | None]] = []

    def publish(self, events: Sequence[AnyEvent]) -> None:
        self._inner.publish(events)
        with self._lock:
            self.events += len(events)
            for event in events:
                if isinstance(event, ResourcesDiscovered):
                    self._file.writelines(f"{r.resource_arn}\n" for r in event.resources)
                elif isinstance(event, ScopeCompleted) and event.status == "failed":
                    scope = event.scope
                    where = f"{scope.account_id}/{scope.region}/{scope.resource_type}"
                    self.failed_scopes.append({"scope": where, "error": event.error})

    def arns(self) -> set[str]:
        self._file.close()
        return set(Path(self._file.name).read_text(encoding="utf-8").split())


def phase_scan(manifest_path: Path, account_ids: list[str] | None = None) -> dict[str, Any]:
    """The real scanner; the truth is read only after the scan, so it does not count in the peak RSS."""
    settings = ScannerSettings()
    clients = AwsClientFactory(settings.aws_region)
    arns_file = tempfile.NamedTemporaryFile(prefix="scan-arns-", suffix=".txt", delete=False)  # noqa: SIM115
    arns_file.close()
    sink = RecordingPublisher(event_publisher(settings, clients), Path(arns_file.name))
    service = build_service(settings, clients, publisher=sink)
    last: list[ScanProgress] = []
    cpu0, t0 = time.process_time(), time.monotonic()
    request = ScanRequested(execution_id=f"bench-{uuid.uuid4()}", trigger="cli", account_ids=account_ids)
    result = service.scan(request, progress=last.append)
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    rss = peak_rss_mb()
    found = sink.arns()
    Path(arns_file.name).unlink()
    truth = {arn for arns in json.loads(manifest_path.read_text()).values() for arn in arns}
    return {
        "wall_s": round(wall, 3),
        "resources": sum(a.resource_count for a in result.accounts),
        "events_published": sink.events,
        "api_calls": last[-1].api_calls if last else None,
        "throttles": last[-1].throttles if last else None,
        "failed_scopes": last[-1].failed_scopes if last else None,
        "failed_scope_errors": sink.failed_scopes,
        "accounts": {a.account_id: a.status for a in result.accounts},
        "missing": len(truth - found),
        "invented": len(found - truth),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(rss, 1),
    }


class BareLister:
    """The floor: the scanner's API calls made with plain boto3, answers counted and dropped."""

    def __init__(self, session: boto3.Session, account_id: str, config: Config, *, tag_calls: bool = False) -> None:
        self._session = session
        self._tag_calls = tag_calls
        session.events.register("before-send", self._count)
        self._account_id = account_id
        self._config = config
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.calls = 0

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(service, region_name=region, config=self._config)  # type: ignore[call-overload]
            return self._clients[key]

    def pages(
        self, client: Any, function: str, page_size: int | None = None, **params: Any
    ) -> Iterator[dict[str, Any]]:
        config = {"PageSize": page_size} if page_size else {}
        yield from client.get_paginator(function).paginate(**params, PaginationConfig=config)

    def list_type(self, slug: str, region: str) -> int:  # noqa: C901 - one branch per TRD type, on purpose
        count = 0
        if slug in {"ec2", "vpc"}:
            ec2 = self.client("ec2", region)
            fn, key = ("describe_instances", "Reservations") if slug == "ec2" else ("describe_vpcs", "Vpcs")
            for page in self.pages(ec2, fn, 1000):
                items = page[key]
                count += sum(len(r["Instances"]) for r in items) if slug == "ec2" else len(items)
        elif slug == "rds":
            for page in self.pages(self.client("rds", region), "describe_db_instances", 100):
                count += len(page["DBInstances"])
        elif slug == "lambda":
            lam = self.client("lambda", region)
            for page in self.pages(lam, "list_functions", 50):
                for fn in page["Functions"]:
                    if self._tag_calls:
                        lam.list_tags(Resource=fn["FunctionArn"])
                    count += 1
        elif slug == "dynamodb":
            ddb = self.client("dynamodb", region)
            for page in self.pages(ddb, "list_tables", 100):
                for name in page["TableNames"]:
                    if self._tag_calls:
                        arn = f"arn:aws:dynamodb:{region}:{self._account_id}:table/{name}"
                        ddb.list_tags_of_resource(ResourceArn=arn)
                    count += 1
        elif slug == "elbv2":
            elb = self.client("elbv2", region)
            for page in self.pages(elb, "describe_load_balancers", 400):
                arns = [lb["LoadBalancerArn"] for lb in page["LoadBalancers"]]
                for start in range(0, len(arns), 20 if self._tag_calls else len(arns) or 1):
                    if self._tag_calls:
                        elb.describe_tags(ResourceArns=arns[start : start + 20])
                count += len(arns)
        elif slug == "ecs":
            ecs = self.client("ecs", region)
            for cluster_page in self.pages(ecs, "list_clusters", 100):
                for cluster in cluster_page["clusterArns"]:
                    for page in self.pages(ecs, "list_services", 100, cluster=cluster):
                        arns = page["serviceArns"]
                        for start in range(0, len(arns), 10):
                            ecs.describe_services(cluster=cluster, services=arns[start : start + 10], include=["TAGS"])
                        count += len(arns)
        elif slug == "s3":
            s3 = self.client("s3", HOME_REGION)
            for bucket in s3.list_buckets()["Buckets"]:
                if not bucket.get("BucketRegion"):  # the scanner asks only when the listing does not say
                    s3.get_bucket_location(Bucket=bucket["Name"])
                if self._tag_calls:
                    with contextlib.suppress(s3.exceptions.ClientError):  # NoSuchTagSet
                        s3.get_bucket_tagging(Bucket=bucket["Name"])
                count += 1
        return count


def phase_floor(manifest: dict[str, list[str]], *, tag_calls: bool = False) -> dict[str, Any]:
    settings = ScannerSettings()
    config = Config(
        retries={"mode": "adaptive", "max_attempts": settings.api_max_attempts},
        read_timeout=settings.api_call_timeout_s,
        max_pool_connections=max(32, settings.max_workers * 2),
    )
    cpu0, t0 = time.process_time(), time.monotonic()
    sts = boto3.client("sts", region_name=HOME_REGION)
    listers = []
    for account_id, _ in ACCOUNTS:
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{settings.role_name}", RoleSessionName="floor"
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        listers.append(BareLister(session, account_id, config, tag_calls=tag_calls))
    jobs = [
        (lister, slug, region)
        for lister in listers
        for slug in TRD_TYPES
        for region in (["global"] if slug == "s3" else settings.inventory_regions)
    ]
    with ThreadPoolExecutor(settings.max_workers) as pool:
        counts = list(pool.map(lambda job: job[0].list_type(job[1], job[2]), jobs))
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    return {
        "wall_s": round(wall, 3),
        "resources": sum(counts),
        "api_calls": sum(lister.calls for lister in listers),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "expected": sum(len(v) for v in manifest.values()),
    }


def seed(resources: int) -> tuple[dict[str, list[str]], float]:
    """Seed the fleet; RDS is capped at RDS_PER_CELL per account and region (the emulator's quota)."""
    from inventory_cli.fleet import seed_fleet

    t0 = time.monotonic()
    cells = len(ACCOUNTS) * len(REGIONS)
    rds = min(resources // len(TRD_TYPES), RDS_PER_CELL * cells)
    others = [slug for slug in TRD_TYPES if slug != "rds"]
    say = lambda m: print(f"  {m}", flush=True)  # noqa: E731
    manifest: dict[str, set[str]] = {}
    if rds < resources // len(TRD_TYPES):
        print(f"  RDS capped at {rds} ({RDS_PER_CELL} per account and region); the other types share the rest")
        fleets = [
            seed_fleet(ACCOUNTS, REGIONS, resources - rds, prefix="bench", types=others, progress=say),
            seed_fleet(ACCOUNTS, REGIONS, rds, prefix="bench", types=["rds"], progress=say),
        ]
    else:
        fleets = [seed_fleet(ACCOUNTS, REGIONS, resources, prefix="bench", progress=say)]
    for fleet in fleets:
        for slug, arns in fleet.arns.items():
            manifest.setdefault(slug, set()).update(arns)
    return {slug: sorted(arns) for slug, arns in manifest.items()}, time.monotonic() - t0


def drain_queues(env: dict[str, str]) -> None:
    """Empty the consumer queues, as the consumers would (the consumers' part in AWS; none runs in the bench).

    moto's SNS->SQS fan-out cost more per message the more messages its queues held (every delivery counted
    every queued message three times: 15 -> 75 ms a PublishBatch with 600 queued); inventory_cli.moto_fast
    now counts in one cheap pass, and the stand-in keeps the emulator's memory from growing by a scan's events.
    """
    sqs = boto3.client("sqs", region_name=HOME_REGION)
    for key in CONSUMER_QUEUES:
        with contextlib.suppress(Exception):  # a missed drain only makes the emulator slower
            sqs.purge_queue(QueueUrl=env[key])


@contextlib.contextmanager
def consumers_stand_in(env: dict[str, str], every_s: float = 1.0) -> Iterator[None]:
    """Drain the consumer queues before and every ``every_s`` during a scan (the consumers' part in AWS)."""
    drain_queues(env)
    with periodically(every_s, lambda: drain_queues(env), name="consumers-stand-in"):
        yield


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; 0 elsewhere)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


#: The emulator's process: each phase records the CPU the emulator spent on it (its own plus the scanner's is
#: the work of the phase; on a loaded machine wall times also measure the run queue).
EMULATOR_PID: list[int] = []


def run_phase(phase: str, manifest_path: Path, env: dict[str, str]) -> dict[str, Any]:
    drains = consumers_stand_in(env) if phase in {"scan", "catalogue"} else contextlib.nullcontext()
    emulator = EMULATOR_PID[0] if EMULATOR_PID else None
    emulator_cpu0 = process_cpu_s(emulator)
    with drains:
        done = subprocess.run(
            [sys.executable, __file__, "--phase", phase, "--manifest", str(manifest_path)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["emulator_cpu_s"] = round(process_cpu_s(emulator) - emulator_cpu0, 1)
    return result


def rss_report(args: argparse.Namespace, manifest: dict[str, list[str]], seed_s: float, scan: dict[str, Any]) -> int:
    """The scanner's peak RSS at this fleet size (one scan in its own process), written next to scan.json."""
    seeded = sum(len(v) for v in manifest.values())
    report = {
        "benchmark": "scan-rss",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "moto": version("moto")},
        "fleet": {"resources": seeded, "by_type": {s: len(a) for s, a in manifest.items()}, "seed_s": round(seed_s, 1)},
        "scan": scan,
        "complete": scan["missing"] == 0 and scan["invented"] == 0,
        "targets": {"peak_rss_mb": TARGET_RSS_MB, "rss_met": scan["peak_rss_mb"] <= TARGET_RSS_MB},
    }
    output = args.output if args.output != RESULTS else RESULTS.with_name(f"scan-rss-{seeded // 1000}k.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{seeded} resources: scan {scan['wall_s']} s, peak RSS {scan['peak_rss_mb']} MB, complete {report['complete']}"
    )
    return 0 if report["complete"] else 1


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``label:KEY=VALUE,KEY=VALUE`` -> (label, environment); a bare label is the scanner as configured."""
    label, _, assignments = text.partition(":")
    env: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in assignments.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise SystemExit(f"--variant {text!r}: expected LABEL:KEY=VALUE,...")
        env[key] = value
    return label, env


def variants_report(args: argparse.Namespace) -> int:
    """Scan a served fleet once per variant, each in a fresh process (its own peak RSS), in the order given.

    Seeding 100,000 resources takes about 18 minutes; ``--serve`` keeps the seeded emulator and this runs
    as many scanner configurations against it as asked (``MALLOC_ARENA_MAX``, ``MAX_WORKERS``,
    ``LIST_PAGE_SIZE_MAX`` ...). Written to scan-rss-<N>k.json unless --output says otherwise.
    """
    if not args.against.is_file():
        raise SystemExit(f"--against {args.against}: no such file; start `benchmarks/scan.py --serve` first")
    served = json.loads(args.against.read_text())
    env: dict[str, str] = served["env"]
    manifest_path = Path(served["manifest"])
    manifest: dict[str, list[str]] = json.loads(manifest_path.read_text())
    if served.get("emulator_pid"):
        EMULATOR_PID.append(int(served["emulator_pid"]))
    seeded = sum(len(v) for v in manifest.values())
    output = args.output if args.output != RESULTS else RESULTS.with_name(f"scan-rss-{seeded // 1000}k.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    complete = True
    for label, overrides in map(parse_variant, args.variant or ["as configured"]):
        scan = run_phase("scan", manifest_path, {**env, **overrides})
        if not EMULATOR_PID:
            scan.pop("emulator_cpu_s", None)  # not known: a served file without the emulator's pid
        results.append({"label": label, "environment": overrides, **scan})
        print(
            f"  {label}: {scan['wall_s']} s, {scan['api_calls']} calls, peak RSS {scan['peak_rss_mb']} MB, "
            f"missing {scan['missing']}, invented {scan['invented']}, failed scopes {scan['failed_scopes']}",
            flush=True,
        )
        complete = all(r["missing"] == 0 and r["invented"] == 0 for r in results)
        report = {
            "benchmark": "scan-rss",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "moto": version("moto")},
            "fleet": {
                "resources": seeded,
                "by_type": {s: len(a) for s, a in manifest.items()},
                "seed_s": served.get("seed_s"),
            },
            "variants": results,
            "complete": complete,
            "targets": {
                "peak_rss_mb": TARGET_RSS_MB,
                "rss_met": {r["label"]: r["peak_rss_mb"] <= TARGET_RSS_MB for r in results},
            },
        }
        output.write_text(json.dumps(report, indent=2) + "\n")  # after each variant: a long run keeps what it has
    return 0 if complete else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2, help="alternating floor/scan runs; the best of each counts")
    parser.add_argument(
        "--phase", choices=["all", "scan", "floor", "pertag", "catalogue"], default="all", help=argparse.SUPPRESS
    )
    parser.add_argument("--no-catalogue", action="store_true", help="skip the whole-catalogue figure")
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rss", action="store_true", help="seed, scan once and report the scanner's peak RSS only")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--against",
        type=Path,
        help="the file of a running --serve: scan its seeded emulator once per --variant (no seeding), RSS per variant",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL[:KEY=VALUE,...]",
        help="with --against: a scan in its own process with these environment settings (repeatable)",
    )
    args = parser.parse_args(argv)

    if args.against:
        return variants_report(args)
    if args.phase != "all":
        if args.phase == "catalogue":  # one account, one region: ~300 types x 12 scopes is too long on moto
            outcome = phase_scan(args.manifest, [ACCOUNTS[0][0]])
        elif args.phase == "scan":
            outcome = phase_scan(args.manifest)
        else:
            outcome = phase_floor(json.loads(args.manifest.read_text()), tag_calls=args.phase == "pertag")
        print(json.dumps(outcome))
        return 0

    # The harness's own imports (the moto server, the local stack's provisioning: pyiceberg, pyarrow, SQLAlchemy; about
    # 110 MB) stay in this process: the phase processes import only what they run, so their peak RSS is theirs.
    from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
    from inventory_cli.provision import provision
    from inventory_cli.runtime import register_accounts
    from inventory_core.items import Account
    from inventory_core.topology import LONG_PROCESS_MALLOC_ENV, build_topology

    # moto refuses a second PurgeQueue of a queue within 60 s (as AWS does), so the stand-in's purges every second
    # failed: until 2026-11-30 a scan's queues were drained once, at its start. The bench's own server allows them.
    os.environ["MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"] = "false"
    server = MotoServer.start(timeout_s=180)  # the tests' wait: at load 20 on 2 cores importing moto took over 30 s
    if server.process:
        EMULATOR_PID.append(server.process.pid)
    try:
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ.update(
            {"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": HOME_REGION, "AWS_REGION": HOME_REGION}
        )
        clients = AwsClientFactory(HOME_REGION)
        with tempfile.TemporaryDirectory() as tmp:
            env = provision(clients, build_topology(HOME_ACCOUNT, HOME_REGION, prefix="bench-"), state_dir=Path(tmp))
            manifest, seed_s = seed(args.resources)
            register_accounts(clients, env["APP_TABLE_NAME"], [Account(a, n, True) for a, n in ACCOUNTS])
            manifest_path = Path(tmp) / "manifest.json"
            manifest_path.write_text(json.dumps(manifest))
            # glibc as in the scanner's ECS task (LONG_PROCESS_MALLOC_ENV): its defaults kept ~100 MB more at 100,000
            # resources (results/scan-rss-100k.json, scan-rss-100k-malloc.json). A --variant can override either.
            child_env = {**os.environ, **env, "INVENTORY_REGIONS": ",".join(REGIONS), **LONG_PROCESS_MALLOC_ENV}
            if args.serve:  # a seeded emulator kept for profiling: run phases against it until the file is gone
                served = {"env": child_env, "manifest": str(manifest_path), "seed_s": round(seed_s, 1)}
                args.serve.write_text(json.dumps({**served, "emulator_pid": EMULATOR_PID[0] if EMULATOR_PID else None}))
                print(f"  serving; remove {args.serve} to stop", flush=True)
                while args.serve.exists():
                    time.sleep(5)
                return 0
            if args.rss:
                return rss_report(args, manifest, seed_s, run_phase("scan", manifest_path, child_env))
            floors, scans, pertags = [], [], []
            for run in range(args.runs):
                floors.append(run_phase("floor", manifest_path, child_env))
                scans.append(run_phase("scan", manifest_path, child_env))
                pertags.append(run_phase("pertag", manifest_path, child_env))
                print(
                    f"  run {run + 1}: floor {floors[-1]['wall_s']} s, scan {scans[-1]['wall_s']} s, "
                    f"floor + per-resource tag calls {pertags[-1]['wall_s']} s; CPU with the emulator's: "
                    f"floor {floors[-1]['cpu_s'] + floors[-1]['emulator_cpu_s']:.1f} s, "
                    f"scan {scans[-1]['cpu_s'] + scans[-1]['emulator_cpu_s']:.1f} s"
                )
            catalogue = None
            if not args.no_catalogue:
                catalogue_env = {**child_env, "SCAN_TYPES": "emulator", "INVENTORY_REGIONS": HOME_REGION}
                catalogue = run_phase("catalogue", manifest_path, catalogue_env)
                print(
                    f"  whole catalogue (SCAN_TYPES=emulator): {catalogue['wall_s']} s, {catalogue['api_calls']} calls"
                )
    finally:
        server.stop()

    floor = min(floors, key=lambda r: r["wall_s"])
    scan = min(scans, key=lambda r: r["wall_s"])
    pertag = min(pertags, key=lambda r: r["wall_s"])
    seeded = sum(len(v) for v in manifest.values())
    ratio = scan["wall_s"] / floor["wall_s"]
    report = {
        "benchmark": "scan",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "moto": version("moto"),
            "boto3": boto3.__version__,
        },
        "fleet": {
            "resources": seeded,
            "by_type": {slug: len(arns) for slug, arns in manifest.items()},
            "accounts": len(ACCOUNTS),
            "regions": REGIONS,
            "seed_s": round(seed_s, 1),
        },
        "scan": scan,
        "floor": floor,
        "floor_with_per_resource_tag_calls": pertag,
        "all_runs": {
            "scan_s": [r["wall_s"] for r in scans],
            "floor_s": [r["wall_s"] for r in floors],
            "pertag_s": [r["wall_s"] for r in pertags],
            "pair_ratios": [round(sc["wall_s"] / fl["wall_s"], 3) for sc, fl in zip(scans, floors, strict=True)],
            # CPU of the phase's process plus the emulator's during it: the work, whatever the machine's load
            "scan_cpu_s": [round(r["cpu_s"] + r["emulator_cpu_s"], 1) for r in scans],
            "floor_cpu_s": [round(r["cpu_s"] + r["emulator_cpu_s"], 1) for r in floors],
            "pair_cpu_ratios": [
                round((sc["cpu_s"] + sc["emulator_cpu_s"]) / max(0.1, fl["cpu_s"] + fl["emulator_cpu_s"]), 3)
                for sc, fl in zip(scans, floors, strict=True)
            ],
        },
        "api_calls_per_resource": {
            "scan": round((scan["api_calls"] or 0) / max(1, scan["resources"]), 3),
            "floor": round(floor["api_calls"] / max(1, floor["resources"]), 3),
            "floor_with_per_resource_tag_calls": round(pertag["api_calls"] / max(1, pertag["resources"]), 3),
        },
        "pertag_ratio_to_floor": round(pertag["wall_s"] / floor["wall_s"], 3),
        "catalogue": None
        if catalogue is None
        else {
            "scope": f"account {ACCOUNTS[0][0]}, region {HOME_REGION}, SCAN_TYPES=emulator",
            **{k: catalogue[k] for k in ("wall_s", "resources", "api_calls", "failed_scopes", "peak_rss_mb")},
            "resources_per_s": round(catalogue["resources"] / catalogue["wall_s"], 1),
        },
        "resources_per_s": round(scan["resources"] / scan["wall_s"], 1),
        "ratio_to_floor": round(ratio, 3),
        "completeness": {
            "found": scan["resources"],
            "missing": scan["missing"],
            "invented": scan["invented"],
            "complete": scan["missing"] == 0 and scan["invented"] == 0,
        },
        "targets": {
            "ratio_to_floor": TARGET_RATIO,
            "peak_rss_mb": TARGET_RSS_MB,
            "ratio_met": ratio <= TARGET_RATIO,
            "rss_met_at_this_scale": scan["peak_rss_mb"] <= TARGET_RSS_MB,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    keys = ("resources_per_s", "ratio_to_floor", "pertag_ratio_to_floor", "api_calls_per_resource", "catalogue")
    print(json.dumps({k: report[k] for k in (*keys, "completeness")}, indent=2))
    print(f"scan {scan['wall_s']} s, floor {floor['wall_s']} s, peak RSS {scan['peak_rss_mb']} MB -> {args.output}")
    return 0 if report["completeness"]["complete"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
