"""The chaos harness: the real services on the emulator, faults by configuration, and the truth they must reach.

A scenario registers a seeded fleet in a fresh stack, runs the real scanner and drains the three consumers
through their real Lambda handlers (as ``make demo`` does), with ``INVENTORY_FAULTS`` set for the faulted part
only. :func:`check` then compares every store with the truth resource by resource.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory_cli.fleet import Fleet
from inventory_cli.maintenance import LifecycleRules, MaintenanceReport, run_maintenance
from inventory_cli.runtime import Consumers, register_accounts, scan_service
from inventory_core import faults
from inventory_core.items import ALL_RESOURCES_GSI1PK, Account
from inventory_core.settings import IcebergSettings
from inventory_events import ScanCompleted, ScanRequested
from inventory_lake import load_catalog
from inventory_lake.duck import connect

from tests.conftest import Stack

CONSUMERS = ("ddb-projector", "lake-writer", "archiver")
#: The AWS services the scanner and the consumers call here (the scan's types: ec2, s3, vpc). Not SQS: only the local
#: pollers call it, standing in for Lambda's event source mapping, which is AWS's own poller and no code of ours.
#: Throttled, the pollers' shared SQS client slowed every consumer: its adaptive retry mode's client-side rate
#: limiter and retry sleeps took about 60% of the drain threads' time in a profile of the short scenario.
OUR_SERVICES = ["sts", "ec2", "s3", "dynamodb", "sns"]
REPORT_PATH = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
RESULTS_PATH = Path(os.environ.get("CHAOS_RESULTS", "/tmp/chaos-results.jsonl"))
#: Between scans the harness runs the lifecycle rules as of this many days ahead: staged pages (7 days, then 30
#: noncurrent) and every noncurrent version (30 days) are gone by then; raw documents (365 days) stay.
MAINTENANCE_DAYS_AHEAD = 40


@contextmanager
def faults_on(plan: Mapping[str, Any] | None) -> Iterator[None]:
    """Set ``INVENTORY_FAULTS`` for the block (clients built inside it get the hooks), then clear it."""
    faults.reset()
    if plan:
        os.environ[faults.ENV_VAR] = json.dumps(plan)
    try:
        yield
    finally:
        os.environ.pop(faults.ENV_VAR, None)


@dataclass
class Observed:
    """What the stores hold: per store, the active resources with their comparable fields."""

    ddb_active: dict[str, tuple[str, str, str]]
    ddb_missing: set[str]
    ice_active: dict[str, tuple[str, str, str]]
    ice_missing: set[str]
    history: Counter[str]  # rows per execution id
    history_pairs: int  # distinct (execution, arn)
    history_rows: int
    raw_documents: list[str]  # keys under raw/
    raw_arns: set[str]
    dlq: dict[str, list[str]]  # consumer -> bodies
    timings: dict[str, float] = field(default_factory=dict)  # seconds per store read


@dataclass
class Outcome:
    """The measured outcome of one scenario, for docs/reliability.md."""

    fault: str
    behaviour: str
    truth: int
    lost: int
    false_missing: int
    converge_s: float
    injected: dict[str, int] = field(default_factory=dict)
    ok: bool = True
    notes: str = ""

    def record(self) -> None:
        with RESULTS_PATH.open("a") as out:
            out.write(json.dumps(self.__dict__) + "\n")


class Pipeline:
    """One stack with a registered fleet: scans, drains, and reads every store."""

    def __init__(self, stack: Stack, fleet: Fleet, types: tuple[str, ...]) -> None:
        self.stack = stack
        self.fleet = fleet
        self.types = types
        self.accounts = [a.account_id for a in fleet.accounts]
        register_accounts(
            stack.clients,
            stack.env["APP_TABLE_NAME"],
            [Account(a.account_id, a.name, True) for a in fleet.accounts],
        )
        self.scans: list[ScanCompleted] = []

    # --- running -------------------------------------------------------------------------------------------
    def scan(self, execution_id: str, cancel: threading.Event | None = None) -> ScanCompleted:
        result = scan_service().scan(
            ScanRequested(execution_id=execution_id, trigger="cli", requested_by="chaos"), cancel=cancel
        )
        self.scans.append(result)
        return result

    def maintain(self, days_ahead: float = MAINTENANCE_DAYS_AHEAD) -> MaintenanceReport:
        """What the bucket's lifecycle rules would have done ``days_ahead`` from now (moto has no lifecycle)."""
        bucket = self.stack.env["INVENTORY_BUCKET"]
        return run_maintenance(
            self.stack.clients.client("s3"),
            bucket,
            LifecycleRules.of(self.stack.topology.bucket),
            days_ahead=days_ahead,
        )

    def consumers(self, max_retry_delay_s: float = 30.0, wait_s: int = 0) -> Consumers:
        """Fresh consumers (their clients are built now, so they see the faults in force now).

        ``wait_s`` is the long-poll wait of consumers started to run beside a scan (0, for drain(), would spin).
        """
        # retry_delay_s=1: a failed record comes back after 1, 2, 4, 8 s (as `make demo`); 0 would spend the five
        # receives before SQS DLQ in a second, far faster than a Lambda visibility timeout ever would.
        # max_retry_delay_s caps the later steps (a poison message's five receives take 1+2+4+8+16 s by default).
        return Consumers.build(
            self.stack.clients.for_session(self.stack.clients.session),
            retry_delay_s=1,
            max_retry_delay_s=max_retry_delay_s,
            wait_s=wait_s,
        )

    def scan_while_consuming(self, execution_id: str, consumers: Consumers) -> ScanCompleted:
        """Scan with ``consumers`` polling at the same time (as the event source mappings do in AWS), then stop them;
        drain() finishes what is left. Retries of a failed record (a poison message's five receives) run during
        the scan instead of after it."""
        stop = threading.Event()
        threads = consumers.start(stop)
        try:
            return self.scan(execution_id)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

    def drain(self, consumers: Consumers | None = None, timeout_s: float = 600) -> None:
        (consumers or self.consumers()).drain(timeout_s=timeout_s)

    def queue_url(self, consumer: str) -> str:
        return self.stack.env[{"ddb-projector": "DDB_PROJECTOR_QUEUE_URL", "lake-writer": "LAKE_WRITER_QUEUE_URL",
                               "archiver": "ARCHIVER_QUEUE_URL"}[consumer]]  # fmt: skip

    def dlq_url(self, consumer: str) -> str:
        sqs = self.stack.clients.client("sqs")
        return str(sqs.get_queue_url(QueueName=self.stack.topology.consumer(consumer).dlq_name)["QueueUrl"])

    # --- observing -----------------------------------------------------------------------------------------
    def observe(self) -> Observed:
        """Read every store at once (four threads: the emulator answers one while DuckDB or JSON decodes another).

        Only the compared fields are read (a projected DynamoDB query, SQL aggregates of the history): at 10,000
        resources x 8 scans, reading whole items and every history row took the soak's check 43-76 s, growing with
        the history; each part's seconds are kept in ``Observed.timings``.
        """
        timings: dict[str, float] = {}

        def timed(name: str, read: Callable[[], Any]) -> Callable[[], Any]:
            def run() -> Any:
                began = time.monotonic()
                try:
                    return read()
                finally:
                    timings[name] = round(time.monotonic() - began, 2)

            return run

        with ThreadPoolExecutor(max_workers=4) as pool:
            dynamo = pool.submit(timed("dynamodb", self._read_dynamodb))
            lake = pool.submit(timed("iceberg", self._read_iceberg))
            raw = pool.submit(timed("raw", self._read_raw))
            dlq = pool.submit(timed("dlq", self._read_dlqs))
            ddb_active, ddb_missing = dynamo.result()
            ice_active, ice_missing, history, pairs, rows = lake.result()
            keys, raw_arns = raw.result()
            dead = dlq.result()
        return Observed(
            ddb_active=ddb_active,
            ddb_missing=ddb_missing,
            ice_active=ice_active,
            ice_missing=ice_missing,
            history=history,
            history_pairs=pairs,
            history_rows=rows,
            raw_documents=keys,
            raw_arns=raw_arns,
            dlq=dead,
            timings=timings,
        )

    def _read_dynamodb(self, segments: int = 4) -> tuple[dict[str, tuple[str, str, str]], set[str]]:
        """Every resource item, by a parallel Scan in ``segments`` threads, projected to the compared attributes.

        The emulator's GSI query re-reads the index for each 1 MB page (nine pages at 10,000 resources plus the
        missing ones); the segments' pages are fewer and read at once: 53 s instead of 73 s for 10,513 items,
        measured against a soak's busy emulator at load 8-9.
        """
        client = self.stack.clients.client("dynamodb")
        table = self.stack.env["APP_TABLE_NAME"]

        def segment(number: int) -> list[dict[str, Any]]:
            params: dict[str, Any] = {
                "TableName": table,
                "Segment": number,
                "TotalSegments": segments,
                "FilterExpression": "gsi1pk = :all",
                "ExpressionAttributeValues": {":all": {"S": ALL_RESOURCES_GSI1PK}},
                "ProjectionExpression": "resourceArn, accountId, #r, #s, discoveryStatus",
                "ExpressionAttributeNames": {"#r": "region", "#s": "state"},
            }
            items: list[dict[str, Any]] = []
            while True:
                page = client.scan(**params)
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return items
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        def text(item: dict[str, Any], name: str, default: str) -> str:
            # As str() of the deserialized attribute: absent -> default, NULL -> "None", a string -> itself.
            value = item.get(name)
            if value is None:
                return default
            return "None" if "NULL" in value else str(next(iter(value.values())))

        active: dict[str, tuple[str, str, str]] = {}
        missing: set[str] = set()
        with ThreadPoolExecutor(max_workers=segments) as pool:
            for items in pool.map(segment, range(segments)):
                for i in items:
                    arn, status = text(i, "resourceArn", ""), text(i, "discoveryStatus", "")
                    if status == "active":
                        active[arn] = (text(i, "accountId", "None"), text(i, "region", "None"), text(i, "state", ""))
                    elif status == "missing":
                        missing.add(arn)
        return active, missing

    def _read_iceberg(
        self,
    ) -> tuple[dict[str, tuple[str, str, str]], set[str], Counter[str], int, int]:
        settings = IcebergSettings()
        catalog = load_catalog(settings)
        con = connect()
        ns = settings.iceberg_namespace
        location = catalog.load_table(f"{ns}.resources").metadata_location
        rows = con.execute(
            f"SELECT resource_arn, account_id, region, state, discovery_status FROM iceberg_scan('{location}')"
        ).fetchall()
        active = {str(r[0]): (str(r[1]), str(r[2]), str(r[3] or "")) for r in rows if r[4] == "active"}
        missing = {str(r[0]) for r in rows if r[4] == "missing"}
        # The history grows by a scan's worth of rows per scan: count in DuckDB, not in Python. Rows per execution
        # and the number of distinct (execution, resource) pairs are what check() compares.
        hist_location = catalog.load_table(f"{ns}.resource_history").metadata_location
        per_execution = con.execute(
            f"SELECT execution_id, count(*), count(DISTINCT resource_arn) FROM iceberg_scan('{hist_location}')"
            " GROUP BY execution_id"
        ).fetchall()
        history = Counter({str(e): int(n) for e, n, _ in per_execution})
        return active, missing, history, sum(int(d) for _, _, d in per_execution), sum(history.values())

    def observe_raw(self) -> tuple[list[str], set[str]]:
        """The raw archive's document keys (sorted) and the ARNs they hold."""
        keys, arns = self._read_raw()
        return sorted(keys), arns

    def _read_raw(self) -> tuple[list[str], set[str]]:
        s3 = self.stack.clients.client("s3")
        bucket = self.stack.env["INVENTORY_BUCKET"]
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/")
            for o in page.get("Contents", [])
        ]

        def arns(key: str) -> set[str]:
            return _raw_arns(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))

        raw_arns: set[str] = set()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for found in pool.map(arns, keys):
                raw_arns |= found
        return keys, raw_arns

    def _read_dlqs(self) -> dict[str, list[str]]:
        dlq: dict[str, list[str]] = {}
        sqs = self.stack.clients.client("sqs")
        for consumer in CONSUMERS:
            # Received with a short visibility, so a later observation sees them again.
            bodies: dict[str, str] = {}
            url = self.dlq_url(consumer)
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=3).get("Messages", [])
                if not got:
                    break
                bodies.update({m["MessageId"]: m["Body"] for m in got})
            dlq[consumer] = sorted(bodies.values())
        return dlq


def _raw_arns(doc: Mapping[str, Any]) -> set[str]:
    arns: set[str] = set()
    account = doc["accountId"]
    for region, by_type in doc["regions"].items():
        for item in by_type.get("ec2", []):
            arns.add(f"arn:aws:ec2:{region}:{account}:instance/{item['InstanceId']}")
        arns |= {f"arn:aws:s3:::{b['Name']}" for b in by_type.get("s3", [])}
        arns |= {f"arn:aws:ec2:{region}:{account}:vpc/{v['VpcId']}" for v in by_type.get("vpc", [])}
    return arns


@dataclass
class Expectation:
    """The truth after a scenario, and what each successful scan must have written to the history."""

    active: set[str]
    history: dict[str, int]  # execution id -> rows
    raw_accounts: set[str]
    dlq: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CONSUMERS})
    gone: set[str] = field(default_factory=set)  # deleted from the fleet and seen gone by a complete scan


def _kind(body: str) -> str:
    try:
        return str(json.loads(body).get("event_type", "?"))
    except (ValueError, AttributeError):
        return "not JSON"


def check(observed: Observed, expected: Expectation) -> tuple[int, int, list[str]]:
    """Compare; return (lost, false missing, problems). Lost = truth not active in a store; false missing = truth
    marked missing in a store."""
    problems: list[str] = []
    lost = len(expected.active - set(observed.ddb_active)) + len(expected.active - set(observed.ice_active))
    false_missing = len(expected.active & observed.ddb_missing) + len(expected.active & observed.ice_missing)
    for name, active in (("DynamoDB", observed.ddb_active), ("Iceberg", observed.ice_active)):
        if set(active) != expected.active:
            problems.append(
                f"{name} active != truth: {len(expected.active - set(active))} lost, "
                f"{len(set(active) - expected.active)} extra, e.g. {sorted(expected.active ^ set(active))[:3]}"
            )
    differ = [a for a in expected.active if observed.ddb_active.get(a) != observed.ice_active.get(a)]
    if differ:
        problems.append(f"{len(differ)} resources differ between DynamoDB and Iceberg, e.g. {differ[:2]}")
    for store, missing in (("DynamoDB", observed.ddb_missing), ("Iceberg", observed.ice_missing)):
        if missing != expected.gone:
            problems.append(f"{store} missing != deleted: {sorted(missing ^ expected.gone)[:3]}")
    history = {e: observed.history.get(e, 0) for e in expected.history}
    if history != expected.history or observed.history_pairs != observed.history_rows:
        problems.append(
            f"resource_history rows per scan {history} != {expected.history}"
            f" ({observed.history_rows} rows, {observed.history_pairs} distinct)"
        )
    day = datetime.now(UTC).strftime("year=%Y/month=%m/day=%d")
    documents = Counter(k.split("/")[-2] for k in observed.raw_documents if day in k)
    if documents != Counter(expected.raw_accounts):
        problems.append(f"raw documents per account {dict(documents)} != one each for {sorted(expected.raw_accounts)}")
    if observed.raw_arns != expected.active:
        problems.append(
            f"raw archive: {len(expected.active - observed.raw_arns)} lost, {len(observed.raw_arns - expected.active)}"
            " extra"
        )
    if observed.dlq != expected.dlq:
        extra = {c: [_kind(b) for b in observed.dlq[c] if b not in expected.dlq.get(c, [])] for c in observed.dlq}
        absent = {c: len([b for b in expected.dlq[c] if b not in observed.dlq.get(c, [])]) for c in expected.dlq}
        problems.append(f"DLQs: unexpected {extra}, expected but absent {absent}")
    return lost, false_missing, problems


def converge(
    pipeline: Pipeline, expected: Expectation, started: float, drain: Callable[[], None]
) -> tuple[Observed, float, list[str]]:
    """Drain, then observe and check; returns the observation, seconds since ``started``, problems."""
    drain()
    observed = pipeline.observe()
    _, _, problems = check(observed, expected)
    return observed, time.monotonic() - started, problems
