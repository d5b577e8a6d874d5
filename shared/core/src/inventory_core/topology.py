"""The one declaration of the inventory stack's AWS resources.

Both the CDK app (``infra/``) and local provisioning (``inventory local up``) read this, so the emulator
and AWS cannot drift apart. Names are ``<prefix><purpose>[-dlq]``; the prefix is empty in a deployment
and unique per test on a shared emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESOURCE_CONSUMER_EVENTS: dict[str, tuple[str, ...]] = {
    "ddb-projector": ("ResourcesDiscovered", "ScopeCompleted", "AccountScanCompleted", "ScanCompleted"),
    "lake-writer": ("ResourcesDiscovered", "ScopeCompleted"),
    "archiver": ("ResourcesDiscovered", "AccountScanCompleted"),
}
"""Which event types each consumer queue receives (its SNS filter policy on ``event_type``)."""

CONSUMER_BATCH_SIZES: dict[str, int] = {"ddb-projector": 4, "lake-writer": 100, "archiver": 10}
"""Records per handler call (Lambda event source mapping batch size). The lake writer makes one Iceberg
commit per batch, so it takes large batches; the others write per record. The projector handles a batch's
records one after another, at about a second each on the emulator, and scales out across batches (no
concurrency cap): at 10 a batch, the batch holding a scan's last sweeps took 19-22 s, most of the time from
scan end to consistent stores (soak, 2026-12-01); at 4 the end of a scan spreads over four invocations."""

CONSUMER_BATCHING_WINDOWS_S: dict[str, int] = {"ddb-projector": 0, "lake-writer": 1, "archiver": 0}
"""Maximum batching window of each consumer's event source mapping: the lake writer waits up to 1 s to
fill a batch (fewer, larger Iceberg commits); the others take records as they come. While a scan runs the
lake writer's batches fill while the previous commit runs (30-40 records, 4-10 s a batch), so the window
only decides the end of a scan: the last batch waits up to the whole window after the scan's last pages.
10 s, then 5 s, then 2 s, now 1 s (2026-12-01): the soak's timeline showed a writer idle for the whole window
after the scan's last pages before its last commit started, every page of it already on the queue when the
window opened. 1 s is Lambda's least window for a batch size over 10; at most one commit per writer a second
when records trickle in, and a commit takes longer than that."""

SCAN_SCHEDULE_EXPRESSION = "cron(0 2 * * ? *)"
"""The daily scan (TRD section 5.1): EventBridge Scheduler's expression, in UTC. The CDK schedule and the
API's ``nextScheduledSync`` both read it, so they cannot drift."""

LONG_PROCESS_MALLOC_ENV: dict[str, str] = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}
"""glibc settings of the long-running, many-threaded Python processes (the scanner's ECS task; locally the soak's
consumer pollers and the benchmarks' scanner). By default each allocating thread gets its own arena (up to 8 per
core) and the mmap threshold climbs with every large free, so freed page buffers stay in fragmented heaps. At
100,012 resources the scanner peaked at 401.9 MB as glibc defaults it, 299.5-360.6 MB with 2 arenas (rising with
the wall time), and 280.2-309.2 MB with the threshold fixed at 128 KiB as well
(``benchmarks/results/scan-rss-100k-malloc.json``, ``scan-rss-100k-default.json``; the scanner's own heap trim and
page handling take it the rest of the way, README Scanner). The ECS task definition, ``make bench-scan`` and the
soak read this one mapping. Lambda runs one invocation per execution environment and needs neither."""

METRICS_NAMESPACE = "AwsAutoDiscovery"
"""The one CloudWatch namespace of every service's custom (EMF) metrics; the stack's alarms read it too."""

BUCKET_EXPIRY_DAYS: dict[str, int] = {
    "staging/": 7,  # the archiver's staged pages: merged into the day's raw document within the day
    "claims/": 21,  # claim checks: longer than a message can live (4 days in the queue + 14 in its DLQ)
    "exports/": 7,  # Excel exports: the download link lives an hour; a week covers a re-download
}
"""Every growing prefix of the inventory bucket except raw/ (whose retention is the bucket spec's); the stack's
lifecycle rules and the local maintenance step (inventory_cli.maintenance) both read it."""

NONCURRENT_DAYS_BY_PREFIX: dict[str, int] = {"readmodel/": 1}
"""Prefixes rewritten often whose old versions are worthless after a day (the grid snapshot is republished
after every scan); every other prefix keeps old versions for the bucket spec's noncurrent expiry."""


@dataclass(frozen=True)
class GsiSpec:
    """A global secondary index with string keys and ALL projection."""

    name: str
    pk: str
    sk: str


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table with string pk/sk, on-demand capacity."""

    name: str
    pk: str = "pk"
    sk: str = "sk"
    gsis: tuple[GsiSpec, ...] = ()
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue with its dead-letter queue; subscribed to the topic when ``event_types`` is set."""

    name: str
    dlq_name: str
    max_receive_count: int = 5
    visibility_timeout_s: int = 120
    receive_wait_s: int = 20
    retention_s: int = 4 * 24 * 3600
    dlq_retention_s: int = 14 * 24 * 3600
    event_types: tuple[str, ...] | None = None
    batch_size: int = 10
    batching_window_s: int = 0

    def filter_policy(self) -> dict[str, list[str]] | None:
        """The SNS subscription filter policy on the ``event_type`` message attribute."""
        if self.event_types is None:
            return None
        return {"event_type": list(self.event_types)}


@dataclass(frozen=True)
class BucketSpec:
    """The inventory bucket: default SSE-S3, public access blocked, raw/ expires."""

    name: str
    raw_prefix: str = "raw/"
    raw_expiration_days: int = 365
    exports_prefix: str = "exports/"
    versioned: bool = True
    noncurrent_version_expiration_days: int = 30


@dataclass(frozen=True)
class Topology:
    """Every AWS resource the inventory stack owns in its home account and region."""

    prefix: str
    table: TableSpec
    audit_table: TableSpec
    topic_name: str
    scan_requests: QueueSpec
    consumers: tuple[QueueSpec, ...]
    bucket: BucketSpec
    lake_bucket: str
    table_bucket: str
    iceberg_namespace: str = "inventory"
    role_name_pattern: str = "NucleusAccess-*"
    default_role_name: str = "NucleusAccess-Inventory"
    queues: tuple[QueueSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", (self.scan_requests, *self.consumers))

    def consumer(self, name: str) -> QueueSpec:
        """Return the consumer queue whose unprefixed purpose is ``name`` (``ddb-projector`` ...)."""
        for queue in self.consumers:
            if queue.name == f"{self.prefix}{name}":
                return queue
        raise KeyError(name)


def build_topology(account_id: str, region: str, *, prefix: str = "", app_name: str = "nucleus-app") -> Topology:
    """Declare the stack for one home account and region.

    Args:
        account_id: The account that hosts the inventory stack (bucket names carry it).
        region: The home region.
        prefix: Prepended to every name; empty in a deployment, unique per test on a shared emulator.
        app_name: Application name used by the TRD's names (``nucleus-app``).

    Returns:
        The topology.
    """
    p = prefix

    def queue(purpose: str, events: tuple[str, ...] | None) -> QueueSpec:
        return QueueSpec(
            name=f"{p}{purpose}",
            dlq_name=f"{p}{purpose}-dlq",
            event_types=events,
            batch_size=CONSUMER_BATCH_SIZES.get(purpose, 10),
            batching_window_s=CONSUMER_BATCHING_WINDOWS_S.get(purpose, 0),
        )

    bucket_suffix = f"{account_id}-{region}"
    return Topology(
        prefix=p,
        table=TableSpec(
            name=f"{p}{app_name}-app-table",
            gsis=(
                GsiSpec("gsi1", "gsi1pk", "gsi1sk"),
                GsiSpec("gsi2", "gsi2pk", "gsi2sk"),
                GsiSpec("gsi3", "gsi3pk", "gsi3sk"),
            ),
            ttl_attribute="ttl",
        ),
        audit_table=TableSpec(name=f"{p}{app_name}-audit"),
        topic_name=f"{p}inventory-events",
        scan_requests=queue("scan-requests", None),
        consumers=tuple(queue(name, events) for name, events in RESOURCE_CONSUMER_EVENTS.items()),
        bucket=BucketSpec(name=f"{p}{app_name}-inventory-{bucket_suffix}"[:63]),
        lake_bucket=f"{p}{app_name}-inventory-lake-{bucket_suffix}"[:63],
        # TRD section 3.2: the S3 Tables table bucket (production Iceberg catalog).
        table_bucket=f"{p}{app_name}-inventory-tables-{bucket_suffix}"[:63],
    )
