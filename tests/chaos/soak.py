"""Soak (``make soak``): consecutive scans with the consumers running at the same time, churn between scans.

Between scans 5% of the resources are deleted (buckets), 5% created (buckets) and 10% changed (instance tags,
half of them also stopped or started). After every scan the same checks as the chaos tests run; measured: the
time from scan start until all three stores equal the truth, as a ratio to the scan's own time, and the
resident memory of each process (the scanner in a process of its own per scan, as an ECS task, with its peak;
each consumer in its own long-running process; the moto server).

    python -m tests.chaos.soak --scans 20 --resources 10000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from inventory_cli.fleet import Fleet, client_in_account, seed_fleet
from inventory_cli.moto_fast import CPU_STATS_ENV, CPU_STATS_INTERVAL_S, read_cpu_stats
from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.topology import LONG_PROCESS_MALLOC_ENV, build_topology

from tests.chaos.harness import REPORT_PATH, Expectation, Pipeline, check
from tests.conftest import HOME_ACCOUNT, HOME_REGION, Stack, unique_accounts

REGIONS = ["us-east-1", "eu-west-1"]
SOAK_SECTION = "## Soak"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory field of a process's /proc status in MB (VmHWM: its peak); 0 when it has none (a zombie)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def top_actions(
    before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]], count: int = 12
) -> dict[str, list[float]]:
    """The ``count`` actions that cost the server the most CPU between two readings, and its garbage collections:
    [calls, CPU seconds]."""
    spent = {
        action: [calls - before.get(action, (0, 0.0))[0], round(cpu - before.get(action, (0, 0.0))[1], 2)]
        for action, (calls, cpu) in after.items()
    }
    costliest = sorted(spent.items(), key=lambda kv: -kv[1][1])[:count]
    collector = [(a, f) for a, f in spent.items() if a.startswith("python gc")]  # always: it grows with the heap
    return {action: figures for action, figures in costliest + collector if figures[0] > 0}


ServerStats = dict[str, dict[str, tuple[int, float]]]  # server -> AWS action -> (calls, CPU seconds)


def server_actions(paths: dict[str, Path]) -> ServerStats:
    """Each server's calls and CPU per action so far (each writes its own file)."""
    return {server: read_cpu_stats(path) for server, path in paths.items()}


def summed(stats: ServerStats) -> dict[str, tuple[int, float]]:
    """The emulator's calls and CPU per action, summed over its servers."""
    total: dict[str, tuple[int, float]] = {}
    for actions in stats.values():
        for action, (calls, cpu) in actions.items():
            before = total.get(action, (0, 0.0))
            total[action] = (before[0] + calls, before[1] + cpu)
    return total


def calls_by_server(before: ServerStats, after: ServerStats) -> dict[str, dict[str, int]]:
    """Per server, the AWS calls it answered between two readings, by action (its garbage collections left out)."""
    answered: dict[str, dict[str, int]] = {}
    for server, actions in after.items():
        was = before.get(server, {})
        spans = {action: calls - was.get(action, (0, 0.0))[0] for action, (calls, _) in actions.items()}
        answered[server] = {a: n for a, n in spans.items() if n > 0 and not a.startswith("python gc")}
    return answered


def drained_cpu(pids: dict[str, int], moto_stats: dict[str, Path]) -> tuple[dict[str, float], ServerStats]:
    """:func:`cpu_of` these processes, and the servers' CPU per action once their last figures are written."""
    cpu = cpu_of(pids)
    time.sleep(CPU_STATS_INTERVAL_S + 0.1)
    return cpu, server_actions(moto_stats)


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    """:func:`cpu_s` of each named process."""
    return {name: cpu_s(pid) for name, pid in pids.items()}


def scan_in_process(execution_id: str, log_dir: Path, timeout_s: float) -> tuple[int, float]:
    """Run one scan as ``python -m scanner --once`` (as the scheduled ECS task does); its exit code and peak RSS.

    The peak is the process's own high-water mark (VmHWM), read until it exits. Not wait4's ru_maxrss: Linux
    carries the parent's RSS at fork into a child's maximum, so it would report the soak harness's size.
    """
    env = {**os.environ, **LONG_PROCESS_MALLOC_ENV, "EXECUTION_ID": execution_id}
    with (log_dir / "scanner.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "scanner", "--once"], stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + timeout_s
    peak_mb = 0.0
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            break
        with contextlib.suppress(OSError, ValueError):  # gone between poll and read: the peak read before it stays
            peak_mb = max(peak_mb, rss_mb(process.pid, "VmHWM"))
        time.sleep(0.2)
    return process.returncode, peak_mb


class Churn:
    """Deletes, creates and changes resources of the fleet between scans; keeps the truth."""

    def __init__(self, fleet: Fleet, prefix: str) -> None:
        self.fleet = fleet
        self.prefix = prefix
        self.gone: set[str] = set()
        self.created = 0
        self.round = 0
        self._clients: dict[tuple[str, str, str], Any] = {}

    def truth(self) -> set[str]:
        return self.fleet.arns_of("ec2", "s3", "vpc")

    def client(self, service: str, account: str, region: str) -> Any:
        """One client per (service, account, region): a new one per call cost an STS-cached but slow client build."""
        key = (service, account, region)
        if key not in self._clients:
            self._clients[key] = client_in_account(service, account, region)
        return self._clients[key]

    def apply(
        self, delete_share: float = 0.05, create_share: float = 0.05, change_share: float = 0.10
    ) -> dict[str, int]:
        self.round += 1
        total = len(self.truth())
        accounts = [a.account_id for a in self.fleet.accounts]
        buckets = sorted(self.fleet.arns["s3"])
        delete = buckets[: min(len(buckets) - 1, round(total * delete_share))]
        create = round(total * create_share)
        created = [
            (accounts[i % len(accounts)], f"{self.prefix}bkt-r{self.round}x{i}-{accounts[i % len(accounts)]}-{i:04d}")
            for i in range(create)
        ]
        for account in accounts:  # built before the threads share them
            self.client("s3", account, "us-east-1")

        def delete_one(arn: str) -> None:
            name = arn.rsplit(":", 1)[-1]
            self.client("s3", name.split("-")[-2], "us-east-1").delete_bucket(Bucket=name)

        def create_one(account_and_name: tuple[str, str]) -> None:
            account, name = account_and_name
            self.client("s3", account, "us-east-1").create_bucket(Bucket=name)

        # A few calls at a time (boto3 clients are thread-safe): ~1,000 single bucket calls one by one took most
        # of a 10,000-resource churn.
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(delete_one, delete))
            list(pool.map(create_one, created))
        for arn in delete:
            self.fleet.arns["s3"].discard(arn)
            self.gone.add(arn)
        for _, name in created:
            self.fleet.arns["s3"].add(f"arn:aws:s3:::{name}")
        self.created += create
        instances = sorted(self.fleet.arns["ec2"])
        change = instances[(self.round * 97) % max(1, len(instances)) :][: round(total * change_share)]
        by_cell: dict[tuple[str, str], list[str]] = {}
        for arn in change:
            parts = arn.split(":")
            by_cell.setdefault((parts[4], parts[3]), []).append(parts[5].split("/")[-1])
        for (account, region), ids in by_cell.items():
            ec2 = self.client("ec2", account, region)
            for start in range(0, len(ids), 200):
                chunk = ids[start : start + 200]
                ec2.create_tags(Resources=chunk, Tags=[{"Key": "soak", "Value": f"round-{self.round}"}])
                half = chunk[: len(chunk) // 2]
                if half:
                    (ec2.stop_instances if self.round % 2 else ec2.start_instances)(InstanceIds=half)
        return {"deleted": len(delete), "created": create, "changed": len(change)}


CONSUMER_NAMES = ("ddb-projector", "lake-writer", "archiver")
TABLE_MAINTENANCE = "table-maintenance"
DYNAMODB_SERVER = "moto-dynamodb"
#: Concurrent invocations of each function: the stack caps the lake writer at 2 (LAKE_WRITER_CONCURRENCY); the
#: projector and the archiver scale out with the queue in AWS, here to a few pollers.
CONCURRENCY = {"ddb-projector": 4, "lake-writer": 2, "archiver": 2}
#: A failed record comes back after 5, 10, 20, 30 s (65 s before its 5th and last receive; in AWS each comes back
#: after the 120 s visibility timeout). Scope completions that arrive before their pages no longer fail (both the
#: projector and the lake writer park them and the writer of the last page sweeps), so only real failures (a
#: throttled call past its retries, a lost commit race) wait for this delay.
RETRY_DELAY_S = 5


def start_consumers(log_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """Each consumer in its own process (its own Lambda function in AWS), logging to ``log_dir``/NAME.log.

    The lake writers keep every snapshot (``KEEP_SNAPSHOTS=0``), as with S3 Tables in AWS, and the tables'
    maintenance runs beside them (:func:`start_table_maintenance`), as S3 Tables runs its own.
    """
    processes = {}
    for name in CONSUMER_NAMES:
        log = (log_dir / f"{name}.log").open("ab")
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.consumer", name, str(CONCURRENCY[name]), str(RETRY_DELAY_S)],
            stdout=log,
            stderr=log,
            # glibc as the scanner's ECS task: each poller thread would otherwise get an arena of its own and hold
            # freed memory. Lambda runs one invocation per execution environment, so the functions need no such setting.
            env={**os.environ, **LONG_PROCESS_MALLOC_ENV, "KEEP_SNAPSHOTS": "0"},
        )
    return processes


def start_table_maintenance(log_dir: Path) -> subprocess.Popen[bytes]:
    """The local stand-in for S3 Tables' maintenance (``inventory_cli.lake_maintenance``), logging to ``log_dir``."""
    log = (log_dir / f"{TABLE_MAINTENANCE}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "inventory_cli.lake_maintenance", "--every", "10", "--keep", "20"],
        stdout=log,
        stderr=log,
        env={**os.environ, **LONG_PROCESS_MALLOC_ENV},
    )


def wait_until_ready(log_dir: Path, processes: dict[str, subprocess.Popen[bytes]], timeout_s: float = 600) -> None:
    """Wait until every consumer process has built its services and polls (imports take a while under load)."""
    deadline = time.monotonic() + timeout_s
    waiting = set(processes)
    while waiting:
        for name in list(waiting):
            if processes[name].poll() is not None:
                code = processes[name].returncode
                raise RuntimeError(f"consumer {name} exited with {code}: see {log_dir}/{name}.log")
            if '"ready": true' in (log_dir / f"{name}.log").read_text(errors="replace"):
                waiting.discard(name)
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumers not ready after {timeout_s:.0f}s: {sorted(waiting)}")
        time.sleep(0.5)


def batch_profile(log_dir: Path, since: dict[str, int]) -> dict[str, dict[str, float]]:
    """Per consumer, the batches its process handled since the offsets in ``since`` (updated): count, records, s."""
    profile: dict[str, dict[str, float]] = {}
    for name in CONSUMER_NAMES:
        path = log_dir / f"{name}.log"
        with path.open("rb") as log:
            log.seek(since.get(name, 0))
            text = log.read()
            since[name] = log.tell()
        batches = records = seconds = 0.0
        for line in text.decode(errors="replace").splitlines():
            if line.startswith('{"consumer"') and '"records"' in line:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line a library wrote into ours (the consumer writes whole lines under a lock)
                batches += 1
                records += entry["records"]
                seconds += entry["s"]
        profile[name] = {"batches": batches, "records": records, "busy_s": round(seconds, 1)}
    return profile


def wait_until_drained(
    pipeline: Pipeline, scan_done: float, deadline: float, interval_s: float = 0.25
) -> dict[str, float]:
    """Per queue, the monotonic time from which it stayed empty (nothing visible or in flight) after the scan."""
    sqs = pipeline.stack.clients.client("sqs")
    urls = {name: pipeline.queue_url(name) for name in CONSUMER_NAMES}
    empty_since: dict[str, float] = {}
    while time.monotonic() < deadline:
        now = time.monotonic()
        for name, url in urls.items():
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            if int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]):
                empty_since.pop(name, None)
            else:
                empty_since.setdefault(name, max(now, scan_done))
        if len(empty_since) == len(urls) and now - max(empty_since.values()) >= 2 * interval_s:
            return empty_since
        time.sleep(interval_s)
    return empty_since


def start_emulators(servers: dict[str, MotoServer], stats: dict[str, Path], one_emulator: bool) -> None:
    """Start the moto servers into ``servers``, each one's CPU-per-action file into ``stats`` before it starts.

    The caller stops them and removes the files, also when a start fails. DynamoDB is a service of its own in
    AWS, not one more thread of the others' server: in one moto process (one core for its Python) every call of
    the projector queued behind the scanner's EC2 and SNS calls. Unless ``one_emulator``, it gets a server of its
    own, which every client of every process finds through boto3's own ``AWS_ENDPOINT_URL_DYNAMODB``
    (:func:`inventory_core.aws.endpoint_url`). Its STS is the other server's, so it knows no assumed role and
    files every call under its default account, the home account: right for the pipeline's own table, wrong for
    member accounts' tables, which is one reason the soak scans ec2, s3 and vpc only.
    """
    run_id = uuid.uuid4().hex[:8]
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]:
        del os.environ[key]  # one the shell set would win over ours
    for name in ("moto",) if one_emulator else ("moto", DYNAMODB_SERVER):
        stats[name] = Path(f"/tmp/soak-{name}-cpu-{run_id}.json")
        # 180 s, as the test session's server: importing moto alone took 45 s at load 25-35 on 2 cores
        servers[name] = MotoServer.start(env={CPU_STATS_ENV: str(stats[name])}, timeout_s=180)
    if not one_emulator:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = servers[DYNAMODB_SERVER].endpoint


def stop_all(
    processes: dict[str, subprocess.Popen[bytes]], servers: dict[str, MotoServer], stats: dict[str, Path]
) -> None:
    """Stop the consumers (killed after 30 s), then the servers; remove the servers' CPU files."""
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    for server in servers.values():
        server.stop()
    for path in stats.values():
        path.unlink(missing_ok=True)


def run(scans: int, resources: int, timeout_s: float = 900, max_minutes: float | None = None,
        on_row: Callable[[dict[str, Any]], None] | None = None,
        one_emulator: bool = False) -> dict[str, Any]:  # fmt: skip
    began = time.monotonic()
    servers: dict[str, MotoServer] = {}
    moto_stats: dict[str, Path] = {}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:  # from here on, a failure (seeding, consumers not ready) still stops the servers and the consumers
        start_emulators(servers, moto_stats, one_emulator)
        server = servers["moto"]
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ.update(
            {"AWS_ENDPOINT_URL": server.endpoint, "AWS_DEFAULT_REGION": HOME_REGION, "AWS_REGION": HOME_REGION}
        )
        os.environ.update({"SCAN_TYPES": "ec2,s3,vpc", "INVENTORY_REGIONS": ",".join(REGIONS)})
        # One moto process serves every call on a shared 2-core machine: a describe_instances of 1,333 instances
        # took 70 s at load 16 (2.3 s idle), past the scanner's 30 s default read timeout, and whole EC2 scopes
        # failed. The soak measures the pipeline's convergence, not the emulator's latency.
        os.environ.setdefault("API_CALL_TIMEOUT_S", "180")
        state_dir = Path(f"/tmp/soak-{uuid.uuid4().hex[:8]}")
        state_dir.mkdir(parents=True)
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
        seed_s = time.monotonic() - started
        print(f"seeded {len(fleet.arns_of('ec2', 's3', 'vpc'))} resources in {seed_s:.0f}s", flush=True)
        pipeline = Pipeline(stack, fleet, ("ec2", "s3", "vpc"))
        churn = Churn(fleet, prefix)
        # Running the whole time, each in its own process, as the event source mappings run the functions in AWS.
        processes.update(start_consumers(state_dir))
        wait_until_ready(state_dir, processes)
        processes[TABLE_MAINTENANCE] = start_table_maintenance(state_dir)
        offsets: dict[str, int] = {}
        rows: list[dict[str, Any]] = []
        history: dict[str, int] = {}
        stopped_early = ""
        for n in range(1, scans + 1):
            if max_minutes is not None and n > 1 and (time.monotonic() - began) / 60 > max_minutes:
                stopped_early = f"stopped after {n - 1} scans: the {max_minutes:.0f}-minute budget was spent"
                break
            churn_started = time.monotonic()
            changes = churn.apply() if n > 1 else {"deleted": 0, "created": 0, "changed": 0}
            churn_s = time.monotonic() - churn_started
            truth = churn.truth()
            execution = f"soak-{n}"
            history[execution] = len(truth)
            expected = Expectation(
                active=truth, history=dict(history), raw_accounts=set(accounts), gone=set(churn.gone)
            )
            others = {name: p.pid for name, p in processes.items()}
            others |= {name: s.process.pid if s.process else 0 for name, s in servers.items()}
            cpu_before = cpu_of(others)
            actions_before = server_actions(moto_stats)
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            started_at = time.time()  # to place the consumers' batches (their "at") on this scan's timeline
            # Its own process per scan, as the scheduled ECS task: its start-up (imports) is in the scan's time.
            exit_code, scanner_peak_mb = scan_in_process(execution, state_dir, timeout_s)
            scan_done = time.monotonic()
            scan_s = scan_done - t0
            children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the scanner: the only child waited for
            scanner_cpu_s = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
            cpu_after: dict[str, float] = {}
            problems: list[str] = ["not checked"]
            lost = false_missing = -1
            last_report = time.monotonic()
            deadline = t0 + timeout_s
            drained: dict[str, float] = {}
            actions_after: ServerStats = {}
            check_s = 0.0
            check_parts: dict[str, float] = {}
            while time.monotonic() < deadline:
                drained = wait_until_drained(pipeline, scan_done, deadline)
                # the first time the queues were empty, before any check's own reads
                cpu_after, actions_after = (cpu_after, actions_after) if cpu_after else drained_cpu(others, moto_stats)
                check_started = time.monotonic()
                observed = pipeline.observe()
                lost, false_missing, problems = check(observed, expected)
                check_s = time.monotonic() - check_started
                check_parts = observed.timings
                if not problems or exit_code != 0:  # a failed scanner's stores are not waited for
                    break
                if time.monotonic() - last_report > 60:
                    print(f"scan {n}: queues empty but not consistent yet: {problems[:2]}", flush=True)
                    last_report = time.monotonic()
                time.sleep(1)
            # or now, when the scan ran out of time before the queues were ever empty
            cpu_after = cpu_after or cpu_of(others)
            actions_after = actions_after or server_actions(moto_stats)
            if exit_code != 0:  # a failed scan fails the soak even where its stores look right
                problems = [f"the scanner exited with {exit_code} (log: {state_dir / 'scanner.log'})", *problems]
            # The stores were final when the last queue became empty (a consumer deletes a message only after its
            # writes); the check that follows confirms it and its own duration is reported apart.
            consistent_s = (max(drained.values()) if len(drained) == len(CONSUMER_NAMES) else time.monotonic()) - t0
            # What the bucket's lifecycle rules do between daily scans in AWS (moto has none): without it the
            # emulator kept every staged page and day-document version and grew about 230 MB a scan.
            maintenance_started = time.monotonic()
            maintenance = pipeline.maintain().as_dict() if not problems else {}
            maintenance["s"] = round(time.monotonic() - maintenance_started, 1)
            row = {
                "scan": n,
                "resources": len(truth),
                # what the stores hold: the fleet's resources and every one deleted so far (kept as missing for
                # 30 days), so a process whose memory follows its data grows with this, not with the scans
                "held": len(truth) + len(churn.gone),
                **changes,
                "started_at": round(started_at, 2),
                "scan_s": round(scan_s, 1),
                "consistent_s": round(consistent_s, 1),
                "ratio": round(consistent_s / scan_s, 2),
                "drained_s": {k: round(v - t0, 1) for k, v in drained.items()},
                "check_s": round(check_s, 1),
                "check_parts_s": check_parts,
                "churn_s": round(churn_s, 1),
                "maintenance": maintenance,
                "batches": batch_profile(state_dir, offsets),
                "rss_mb": {
                    "scanner": round(scanner_peak_mb),  # the peak of this scan's own process
                    "harness": round(rss_mb(os.getpid())),
                    **{name: round(rss_mb(p.pid)) for name, p in processes.items()},
                    **{name: round(rss_mb(s.process.pid)) if s.process else 0 for name, s in servers.items()},
                },
                # CPU seconds of each process from scan start until the queues were empty (the machine has 2 vCPUs)
                "cpu_s": {"scanner": round(scanner_cpu_s, 1)}
                | {name: round(max(0.0, cpu_after.get(name, 0.0) - cpu_before[name]), 1) for name in others},
                # moto's CPU seconds (and calls) per AWS action over the same span, the costliest first
                "moto_actions": top_actions(summed(actions_before), summed(actions_after)),
                # which server answered what (DynamoDB's calls only its own, unless --one-emulator)
                "server_calls": calls_by_server(actions_before, actions_after),
                "load": round(os.getloadavg()[0], 1),
                "lost": lost,
                "false_missing": false_missing,
                "ok": not problems,
                "problems": problems[:2],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            if on_row:
                on_row(
                    {"scans": scans, "resources": resources, "rows": rows, "stopped_early": stopped_early,
                     "seed_s": seed_s, "emulators": len(servers)}
                )  # fmt: skip
            if problems:
                break
    finally:
        stop_all(processes, servers, moto_stats)
    return {
        "scans": scans,
        "resources": resources,
        "rows": rows,
        "stopped_early": stopped_early,
        "seed_s": seed_s,
        "emulators": len(servers),
    }


EMULATORS_TEXT = {
    False: "The emulator: one moto server for every service (`--one-emulator`).",
    True: "The emulator: two moto servers, DynamoDB in one and every other service in the other, as they are separate"
    " services in AWS (`--one-emulator`: one for all); CPU per server, per action the two summed, RSS as moto +"
    " dynamodb.",
}


def _moto_rss(rss: dict[str, int]) -> str:
    return f"{rss['moto']} + {rss[DYNAMODB_SERVER]}" if DYNAMODB_SERVER in rss else str(rss["moto"])


def render(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [
        SOAK_SECTION,
        "",
        f"`python -m tests.chaos.soak --scans {result['scans']} --resources {result['resources']}`: each scan in a",
        "scanner process of its own (`python -m scanner --once`, as the scheduled ECS task; its start-up is in the",
        "scan time) and each consumer in a long-running process of its own (each is its own Lambda in AWS),",
        "polling while the scanner runs; churn between scans: 5% buckets deleted, 5% buckets created, 10% instances",
        "re-tagged, half of those stopped or started. consistent = from scan start until the last consumer queue was",
        "empty for good (nothing visible or in flight: a consumer deletes a message only after its writes), confirmed",
        "by the check that follows (DynamoDB, Iceberg, the raw archive, the history and the DLQs equal the truth; its",
        "own duration is the check column: the four stores read at once, DynamoDB by a 4-segment parallel Scan of the",
        "compared attributes, the history counted per scan in DuckDB); ratio = consistent / scan time (target <= 1.3).",
        "The scanner and consumer processes run with the glibc settings of the scanner's ECS task (2 arenas, 128 KiB",
        "mmap threshold). Per consumer: seconds from scan start until its queue was empty. RSS in MB: the scanner's",
        "peak (its VmHWM), the others' current RSS after the check. load = 1-minute load",
        "average of the 2-vCPU machine, shared with other work. After each check the bucket's lifecycle rules run 40",
        "days ahead (`inventory_cli.maintenance`: staged pages and noncurrent versions go, as AWS expires them; moto",
        "has no lifecycle), before the RSS is read. The tables' snapshot expiry runs beside the pipeline every 10 s",
        "(`inventory_cli.lake_maintenance`, keeping 20 a table), as S3 Tables' maintenance does in AWS; the lake",
        "writers keep every snapshot (`KEEP_SNAPSHOTS=0`), as they do with S3 Tables.",
        EMULATORS_TEXT[result.get("emulators", 1) > 1],
        "",
        "| scan | resources | deleted / created / changed | scan (s) | consistent (s) | ratio |"
        " projector / lake writer / archiver empty (s) | check (s) | RSS scanner / projector / lake writer / archiver /"
        " moto (MB) | load | result |",
        "|---:|---:|---|---:|---:|---:|---|---:|---|---:|---|",
    ]
    for r in rows:
        result_text = "equal to the truth" if r["ok"] else f"**FAILED**: {'; '.join(r['problems'])}"
        drained = " / ".join(str(r["drained_s"].get(name, "-")) for name in CONSUMER_NAMES)
        rss = " / ".join([*(str(r["rss_mb"][k]) for k in ("scanner", *CONSUMER_NAMES)), _moto_rss(r["rss_mb"])])
        lines.append(
            f"| {r['scan']} | {r['resources']} | {r['deleted']} / {r['created']} / {r['changed']} | {r['scan_s']} | "
            f"{r['consistent_s']} | {r['ratio']} | {drained} | {r['check_s']} | {rss} | {r['load']} | {result_text} |"
        )
    if rows:
        ratios = [r["ratio"] for r in rows]
        lines += ["", f"Ratio over {len(rows)} scans: min {min(ratios)}, max {max(ratios)}, "
                  f"median {sorted(ratios)[len(ratios) // 2]} (target <= 1.3)."]  # fmt: skip
        busy = {name: sum(r["batches"][name]["busy_s"] for r in rows) for name in CONSUMER_NAMES}
        batches = {name: int(sum(r["batches"][name]["batches"] for r in rows)) for name in CONSUMER_NAMES}
        records = {name: int(sum(r["batches"][name]["records"] for r in rows)) for name in CONSUMER_NAMES}
        lines.append(
            "Handler time over the soak: "
            + "; ".join(
                f"{name} {busy[name]:.0f} s in {batches[name]} batches ({records[name]} records)"
                for name in CONSUMER_NAMES
            )
            + "."
        )
        churns = [r.get("churn_s", 0.0) for r in rows[1:]] or [0.0]
        parts = {
            k: max(r.get("check_parts_s", {}).get(k, 0.0) for r in rows) for k in ("dynamodb", "iceberg", "raw", "dlq")
        }
        lines.append(
            f"Seeding took {result.get('seed_s', 0):.0f} s; churn between scans {min(churns)}-{max(churns)} s; the"
            " check reads the four stores at once, its slowest reads (s): "
            + ", ".join(f"{k} {v}" for k, v in parts.items())
            + "."
        )
        kept = [r.get("maintenance", {}) for r in rows if r.get("maintenance", {}).get("versions_deleted") is not None]
        if kept:
            lines.append(
                f"Lifecycle step per scan: {min(m['versions_deleted'] for m in kept)}-"
                f"{max(m['versions_deleted'] for m in kept)} versions, "
                f"{max(m['bytes_freed'] for m in kept) / 1e6:.0f} MB at most, {max(m['s'] for m in kept)} s at most."
            )
        with_cpu = [r["cpu_s"] for r in rows if r.get("cpu_s")]
        if with_cpu:
            names: tuple[str, ...] = ("scanner", *CONSUMER_NAMES, TABLE_MAINTENANCE, "moto")
            names += (DYNAMODB_SERVER,) if DYNAMODB_SERVER in with_cpu[0] else ()
            lines.append(
                "CPU seconds per scan, from scan start until the queues were empty (first -> last, the machine has 2"
                " vCPUs and each moto server's Python runs on at most one): "
                + ", ".join(f"{k} {with_cpu[0].get(k, 0)} -> {with_cpu[-1].get(k, 0)}" for k in names)
                + "."
            )
        with_actions = [r for r in rows if r.get("moto_actions")]
        if with_actions:
            first_a, last_a = with_actions[0]["moto_actions"], with_actions[-1]["moto_actions"]
            shown = sorted(set(first_a) | set(last_a), key=lambda a: -last_a.get(a, [0, 0.0])[1])[:8]
            lines.append(
                f"moto's CPU seconds per scan by AWS action, scan {with_actions[0]['scan']} -> "
                f"{with_actions[-1]['scan']} (its request threads' own CPU; calls in brackets): "
                + ", ".join(
                    f"{a} {first_a.get(a, [0, 0.0])[1]} ({first_a.get(a, [0])[0]}) -> "
                    f"{last_a.get(a, [0, 0.0])[1]} ({last_a.get(a, [0])[0]})"
                    for a in shown
                )
                + "."
            )
        first, last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
        long_running = (*CONSUMER_NAMES, "moto", *((DYNAMODB_SERVER,) if DYNAMODB_SERVER in first else ()))
        lines.append(
            "RSS first -> last scan (MB; the scanner's is its peak): "
            + ", ".join(f"{k} {first[k]} -> {last[k]}" for k in ("scanner", *long_running))
            + "."
        )
        if len(rows) >= 4 and all("held" in r for r in rows):
            half = rows[len(rows) // 2 - 1 :]
            span = len(half) - 1
            held = (half[-1]["held"] - half[0]["held"]) / half[0]["held"] * 100 / span

            def growth(name: str) -> float:
                before, after = half[0]["rss_mb"][name], half[-1]["rss_mb"][name]
                return float((after - before) / max(1, before) * 100 / span)

            lines.append(
                f"Second half (scans {half[0]['scan']} -> {half[-1]['scan']}), growth per scan: items held"
                f" {held:.1f}% ({half[0]['held']} -> {half[-1]['held']}: deleted resources stay as missing); RSS "
                + ", ".join(f"{k} {growth(k):.1f}%" for k in long_running)
                + "."
            )
    if result.get("stopped_early"):
        lines += ["", f"Not the full run: {result['stopped_early']}."]
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = REPORT_PATH) -> None:
    current = path.read_text() if path.exists() else "# Reliability report\n"
    head = current.split(SOAK_SECTION)[0].rstrip() + "\n\n"
    path.write_text(head + text)


class _ExtrasFormatter(logging.Formatter):
    """Message plus the structured fields a module logged with it (``extra=``), e.g. a failed scope's error."""

    _standard = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in self._standard}
        text = super().format(record)
        return f"{text} {json.dumps(extras, default=str)}" if extras else text


def main() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_ExtrasFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--max-minutes", type=float, default=None, help="start no new scan after this many minutes")
    parser.add_argument(
        "--one-emulator", action="store_true", help="serve DynamoDB from the same moto server as the other services"
    )
    parser.add_argument(
        "--report", type=Path, default=REPORT_PATH, help="markdown file whose soak section is rewritten"
    )
    args = parser.parse_args()
    if not args.report.parent.is_dir():  # said now, not after the first scan's hour of work
        parser.error(f"--report: no folder {args.report.parent}")
    # SIGTERM ends the soak through its finally: consumers and the moto server stop with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The report is rewritten after every scan, so a soak stopped part-way keeps what it measured.
    result = run(
        args.scans,
        args.resources,
        max_minutes=args.max_minutes,
        on_row=lambda r: write_section(render(r), args.report),
        one_emulator=args.one_emulator,
    )
    write_section(render(result), args.report)
    print(f"wrote {args.report}")
    if not all(r["ok"] for r in result["rows"]) or len(result["rows"]) < args.scans:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
