"""The scan: accounts x regions x types, pages out as events, never claiming what it could not see."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from threading import Lock

from inventory_core.items import Account
from inventory_core.memory import trimming
from inventory_core.publisher import PublishError
from inventory_events import (
    GLOBAL_REGION,
    AccountScanCompleted,
    AccountStatus,
    AccountSummary,
    AnyEvent,
    Resource,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    Scope,
    ScopeCompleted,
    ScopeStatus,
    ScopeSummary,
    Shard,
    SkippedAccount,
    utc_now,
)

from scanner.catalog import InvalidResourceError, ResourceSpec, ScopeContext, scope_regions, tagging_filters
from scanner.logcontext import log_keys
from scanner.ports import (
    AccountDirectory,
    AccountSession,
    AssumeRoleError,
    CallMeter,
    CallStats,
    ClaimCheckError,
    ClaimStore,
    EventPublisher,
    ScanLedger,
    ScanLock,
    ScanMetrics,
    ScanMetricsRecord,
    SessionProvider,
    ShardCoordinator,
    ShardLauncher,
    TagSource,
)

logger = logging.getLogger(__name__)

#: The regions option value meaning "every region enabled in each account".
ALL_REGIONS = "all"
CLAIM_CHECK_KEY = "_claim_check"


@dataclass
class ScanCounters:
    """What a scan saw, for logs, metrics and the CLI."""

    resources: int = 0
    pages: int = 0
    invalid: int = 0
    oversized: int = 0
    claim_checks: int = 0
    failed_scopes: int = 0
    scopes_done: int = 0
    scopes_total: int = 0
    accounts_done: int = 0
    accounts_total: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    _lock: Lock = field(default_factory=Lock, repr=False)

    def add(
        self,
        *,
        resources: int = 0,
        pages: int = 0,
        invalid: int = 0,
        oversized: int = 0,
        claim_checks: int = 0,
        failed_scopes: int = 0,
        scopes_done: int = 0,
        scopes_total: int = 0,
        accounts_done: int = 0,
        resource_type: str | None = None,
    ) -> None:
        """Add to the counters (thread-safe)."""
        with self._lock:
            self.resources += resources
            self.pages += pages
            self.invalid += invalid
            self.oversized += oversized
            self.claim_checks += claim_checks
            self.failed_scopes += failed_scopes
            self.scopes_done += scopes_done
            self.scopes_total += scopes_total
            self.accounts_done += accounts_done
            if resource_type and resources:
                self.by_type[resource_type] += resources


@dataclass(frozen=True)
class ScanProgress:
    """A snapshot of a running scan, for progress displays."""

    execution_id: str
    accounts_total: int
    accounts_done: int
    scopes_total: int
    scopes_done: int
    failed_scopes: int
    resources: int
    api_calls: int
    throttles: int


ProgressCallback = Callable[[ScanProgress], None]


@dataclass(frozen=True)
class ScanOptions:
    """Knobs of a scan."""

    regions: Sequence[str]
    specs: Sequence[ResourceSpec]
    max_workers: int = 8
    max_accounts: int = 4
    page_max_bytes: int = 200_000
    page_max_items: int = 500
    #: Scopes of one (account, region) running at once: one region's API limits are shared by its calls.
    region_concurrency: int = 4
    lock_ttl_s: int = 600
    lock_renew_s: float | None = None  # default: a third of lock_ttl_s, so a long scan never loses its lock
    #: Accounts per shard when a request for more accounts fans out (``handle``).
    shard_size: int = 50
    #: Pages of the whole scan publishing behind their scopes' listings at once (0: every page publishes inline on
    #: its scope's thread). Each one keeps a page alive beside the one its scope lists next, so this bounds the memory
    #: publish-behind costs: one per scope (8 at 8 workers) took peak RSS at 100,000 resources from 300 to 355 MB.
    publish_ahead: int = 2
    #: Seconds between heap trims while a scan runs (``inventory_core.memory.trimming``; 0: never). The deployed
    #: scanner trims every second (``HEAP_TRIM_INTERVAL_S``); a ScanService built in a test does not.
    heap_trim_interval_s: float = 0.0


def paginate_resources(
    resources: Iterable[Resource],
    *,
    max_bytes: int,
    max_items: int,
    oversize: Callable[[Resource], Resource | None] | None = None,
) -> Iterator[list[Resource]]:
    """Group resources into pages whose JSON stays under ``max_bytes`` (SNS/SQS limit) and ``max_items``.

    A single resource larger than ``max_bytes`` goes through ``oversize`` (the claim check), which returns a
    smaller stand-in; without one, or when the stand-in is still too large, it is dropped with a warning.
    """
    page: list[Resource] = []
    size = 0
    for resource in resources:
        item = resource
        item_size = len(item.model_dump_json().encode()) + 1
        if item_size > max_bytes:
            replacement = oversize(item) if oversize else None
            item_size = len(replacement.model_dump_json().encode()) + 1 if replacement else item_size
            if replacement is None or item_size > max_bytes:
                logger.warning("resource too large for a message, skipped", extra={"arn": resource.resource_arn})
                continue
            item = replacement
        if page and (size + item_size > max_bytes or len(page) >= max_items):
            yield page
            page, size = [], 0
        page.append(item)
        size += item_size
    if page:
        yield page


class _Interrupted(Exception):
    """The scan was asked to stop (SIGTERM of the task) while a scope was being listed."""


@dataclass(frozen=True)
class _InFlight:
    """A page handed to the publish pool: its future (None: already published) and its resource count."""

    future: Future[None] | None
    size: int


@dataclass
class _Run:
    """State of one execution shared by its threads."""

    request: ScanRequested
    started_at: datetime
    counters: ScanCounters
    scope_pool: ThreadPoolExecutor
    cancel: threading.Event
    progress: ProgressCallback | None
    stats_before: CallStats
    region_gates: dict[tuple[str, str], threading.Semaphore] = field(default_factory=dict)
    gates_lock: Lock = field(default_factory=Lock)
    last_progress: float = 0.0
    #: The ARN services the Tagging API pass asks for (those of the scanned ``api`` types); None: all.
    tag_filters: tuple[str, ...] | None = None
    #: Publishes a scope's page while the scope lists its next one (None: publish on the scope's thread).
    publish_pool: ThreadPoolExecutor | None = None
    #: Free places in the publish pool (``ScanOptions.publish_ahead``); a page that finds none publishes inline.
    publish_slots: threading.BoundedSemaphore | None = None

    @property
    def execution_id(self) -> str:
        return self.request.execution_id


_NO_METER_STATS = CallStats()


class ScanService:
    """Runs one scan execution and publishes its events."""

    def __init__(
        self,
        accounts: AccountDirectory,
        sessions: SessionProvider,
        publisher: EventPublisher,
        options: ScanOptions,
        *,
        clock: Callable[[], datetime] = utc_now,
        lock: ScanLock | None = None,
        ledger: ScanLedger | None = None,
        claims: ClaimStore | None = None,
        meter: CallMeter | None = None,
        metrics: ScanMetrics | None = None,
        coordinator: ShardCoordinator | None = None,
        launcher: ShardLauncher | None = None,
    ) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._publisher = publisher
        self._options = options
        self._clock = clock
        self._lock = lock
        self._ledger = ledger
        self._claims = claims
        self._meter = meter
        self._metrics = metrics
        self._coordinator = coordinator
        self._launcher = launcher

    @property
    def options(self) -> ScanOptions:
        return self._options

    def with_options(self, **changes: object) -> ScanService:
        """The same service with some options changed (the CLI's --region and --type)."""
        clone = ScanService.__new__(ScanService)
        clone.__dict__.update(self.__dict__)
        clone._options = replace(self._options, **changes)  # type: ignore[arg-type]
        return clone

    def _stats(self) -> CallStats:
        return self._meter.snapshot() if self._meter else _NO_METER_STATS

    def handle(self, request: ScanRequested, *, cancel: threading.Event | None = None) -> ScanCompleted | None:
        """The worker's and a launched task's entry: a request for more accounts than one shard fans out.

        Returns the ScanCompleted when this process scanned the request itself, None when it fanned out
        (the last shard to finish publishes the one ScanCompleted of the execution).
        """
        if request.shard is None and self._launcher and self._coordinator:
            accounts = [a.account_id for a in self._accounts.enabled_accounts(request.account_ids)]
            size = self._options.shard_size
            if len(accounts) > size:
                chunks = [accounts[i : i + size] for i in range(0, len(accounts), size)]
                shards = [
                    ScanRequested(
                        execution_id=request.execution_id,
                        account_ids=chunk,
                        trigger=request.trigger,
                        requested_by=request.requested_by,
                        shard=Shard(index=i, count=len(chunks)),
                    )
                    for i, chunk in enumerate(chunks)
                ]
                now = self._clock()
                if self._ledger:
                    self._ledger.started(request, now, accounts)
                self._coordinator.planned(request.execution_id, len(shards), now)
                logger.info(
                    "scan fanned out into shards",
                    extra={"execution_id": request.execution_id, "accounts": len(accounts), "shards": len(shards)},
                )
                self._launcher.launch(shards)
                return None
        return self.scan(request, cancel=cancel)

    def scan(
        self,
        request: ScanRequested,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanCompleted:
        """Scan every requested enabled account; return (and publish) the ScanCompleted event.

        Setting ``cancel`` stops the scan early: scopes not finished are left without a ScopeCompleted (so
        nothing of them is marked missing) and their accounts end ``partial``.
        """
        with log_keys(execution_id=request.execution_id):
            return self._scan(request, progress, cancel)

    def _scan(
        self, request: ScanRequested, progress: ProgressCallback | None, cancel: threading.Event | None
    ) -> ScanCompleted:
        started_at = self._clock()
        t0 = time.monotonic()
        accounts = self._accounts.enabled_accounts(request.account_ids)
        counters = ScanCounters(accounts_total=len(accounts))
        logger.info(
            "scan started",
            extra={"execution_id": request.execution_id, "accounts": len(accounts), "trigger": request.trigger},
        )
        if self._ledger:
            try:
                self._ledger.started(request, started_at, [a.account_id for a in accounts])
            except Exception:  # the status item is for display; the scan and its events matter more
                logger.exception("scan status not recorded", extra={"execution_id": request.execution_id})
        with (
            trimming(self._options.heap_trim_interval_s),
            ThreadPoolExecutor(self._options.max_workers, thread_name_prefix="scope") as scope_pool,
            ThreadPoolExecutor(self._options.max_accounts, thread_name_prefix="account") as account_pool,
            ThreadPoolExecutor(max(1, self._options.publish_ahead), thread_name_prefix="publish") as publish_pool,
        ):
            run = _Run(request, started_at, counters, scope_pool, cancel or threading.Event(), progress, self._stats())
            run.tag_filters = tagging_filters(self._options.specs)
            if self._options.publish_ahead > 0:
                run.publish_pool = publish_pool
                run.publish_slots = threading.BoundedSemaphore(self._options.publish_ahead)
            outcomes = list(account_pool.map(lambda account: self._scan_account(run, account), accounts))
        summaries = [o for o in outcomes if isinstance(o, AccountSummary)]
        skipped = [o for o in outcomes if isinstance(o, SkippedAccount)]
        completed = ScanCompleted(
            execution_id=request.execution_id,
            scan_started_at=started_at,
            duration_ms=int((time.monotonic() - t0) * 1000),
            accounts=summaries,
            skipped=skipped,
        )
        final = self._shard_totals(request, completed)
        if final is not None:
            self._publisher.publish([final])
        stats = self._stats().minus(run.stats_before)
        self._report(run, force=True)
        self._record_metrics(completed, counters, stats)
        logger.info(
            "scan finished",
            extra={
                "execution_id": request.execution_id,
                "resources": counters.resources,
                "pages": counters.pages,
                "invalid_resources": counters.invalid,
                "oversized_resources": counters.oversized,
                "claim_checks": counters.claim_checks,
                "failed_scopes": counters.failed_scopes,
                "skipped_accounts": len(skipped),
                "api_calls": stats.api_calls,
                "throttles": stats.throttles,
                "duration_ms": completed.duration_ms,
            },
        )
        # A shard's own part when another shard finishes last; the whole execution's when this one did.
        return final or completed

    def _shard_totals(self, request: ScanRequested, completed: ScanCompleted) -> ScanCompleted | None:
        """A shard publishes no ScanCompleted of its own; the last shard to finish publishes the execution's."""
        if request.shard is None or self._coordinator is None:
            return completed
        totals = self._coordinator.shard_finished(
            request.execution_id, request.shard, completed.accounts, completed.skipped
        )
        if totals is None:
            return None
        started = min(filter(None, [totals.planned_at, completed.scan_started_at]))
        return ScanCompleted(
            execution_id=request.execution_id,
            scan_started_at=started,
            duration_ms=max(0, int((self._clock() - started).total_seconds() * 1000)),
            accounts=totals.accounts,
            skipped=totals.skipped,
        )

    def _record_metrics(self, completed: ScanCompleted, counters: ScanCounters, stats: CallStats) -> None:
        if not self._metrics:
            return
        try:
            self._metrics.record(
                ScanMetricsRecord(
                    execution_id=completed.execution_id,
                    duration_ms=completed.duration_ms,
                    accounts=len(completed.accounts),
                    failed_accounts=sum(1 for a in completed.accounts if a.status == "failed"),
                    failed_scopes=counters.failed_scopes,
                    invalid_resources=counters.invalid + counters.oversized,
                    resources_by_type=dict(counters.by_type),
                    api_calls=stats.api_calls,
                    throttles=stats.throttles,
                )
            )
        except Exception:  # metrics must never fail a finished scan
            logger.exception("scan metrics not recorded", extra={"execution_id": completed.execution_id})

    def _report(self, run: _Run, *, force: bool = False) -> None:
        if not run.progress:
            return
        now = time.monotonic()
        if not force and now - run.last_progress < 0.1:
            return
        run.last_progress = now
        c = run.counters
        stats = self._stats().minus(run.stats_before)
        run.progress(
            ScanProgress(
                execution_id=run.execution_id,
                accounts_total=c.accounts_total,
                accounts_done=c.accounts_done,
                scopes_total=c.scopes_total,
                scopes_done=c.scopes_done,
                failed_scopes=c.failed_scopes,
                resources=c.resources,
                api_calls=stats.api_calls,
                throttles=stats.throttles,
            )
        )

    def _scan_account(self, run: _Run, account: Account) -> AccountSummary | SkippedAccount:
        with log_keys(execution_id=run.execution_id, account_id=account.account_id):
            return self._scan_account_logged(run, account)

    def _scan_account_logged(self, run: _Run, account: Account) -> AccountSummary | SkippedAccount:
        if self._lock:
            try:
                taken = self._lock.acquire(account.account_id, run.execution_id, self._options.lock_ttl_s)
            except Exception as exc:  # without the lock we cannot rule out an overlap: this account fails alone
                run.counters.add(accounts_done=1)
                return self._account_failed(run, account, time.monotonic(), f"scan lock unavailable: {exc}")
            if not taken.acquired:
                reason = f"scan {taken.holder} of this account is still running (lock expires at {taken.expires_at})"
                logger.warning(
                    "account skipped: another scan holds it",
                    extra={"execution_id": run.execution_id, "account_id": account.account_id, "holder": taken.holder},
                )
                run.counters.add(accounts_done=1)
                return SkippedAccount(account_id=account.account_id, reason=reason, holder_execution_id=taken.holder)
            if taken.stale_holder:
                logger.warning(
                    "previous scan of the account did not finish; its lock expired",
                    extra={"account_id": account.account_id, "stale_execution_id": taken.stale_holder},
                )
                self._close_abandoned(run, account.account_id, taken.stale_holder, taken.stale_acquired_at)
        stop_renewing = self._keep_lock(account.account_id, run.execution_id) if self._lock else None
        try:
            return self._scan_locked_account(run, account)
        finally:
            if self._lock:
                if stop_renewing:
                    stop_renewing()
                self._lock.release(account.account_id, run.execution_id)
            run.counters.add(accounts_done=1)
            self._report(run)

    def _close_abandoned(self, run: _Run, account_id: str, execution_id: str, acquired_at: int | None) -> None:
        """A killed scan never said how the account ended: say `partial` for it, with no scopes.

        No scope of it is reported complete, so nothing is marked missing; consumers record the status.
        """
        started = datetime.fromtimestamp(acquired_at, UTC) if acquired_at else run.started_at
        try:
            self._publisher.publish(
                [
                    AccountScanCompleted(
                        execution_id=execution_id,
                        account_id=account_id,
                        status="partial",
                        resource_count=0,
                        duration_ms=0,
                        scan_started_at=min(started, run.started_at),
                        error=f"the scan ended without finishing; execution {run.execution_id} took over its lock",
                    )
                ]
            )
        except Exception as exc:  # reporting the abandoned scan must not stop this one
            logger.warning("could not report the abandoned scan", extra={"account_id": account_id, "error": str(exc)})

    def _keep_lock(self, account_id: str, execution_id: str) -> Callable[[], None]:
        """Extend the account's lock while its scan runs (re-acquiring one's own lock moves its expiry)."""
        lock = self._lock
        assert lock is not None
        stop = threading.Event()
        interval = self._options.lock_renew_s or max(1.0, self._options.lock_ttl_s / 3)

        def renew() -> None:
            while not stop.wait(interval):
                try:
                    result = lock.acquire(account_id, execution_id, self._options.lock_ttl_s)
                except Exception as exc:  # the next beat retries; the lock still has up to two thirds to run
                    logger.warning("scan lock renewal failed", extra={"account_id": account_id, "error": str(exc)})
                    continue
                if not result.acquired:
                    logger.error(
                        "scan lock lost to another execution",
                        extra={"account_id": account_id, "holder": result.holder},
                    )
                    return

        thread = threading.Thread(target=renew, name=f"lock-{account_id}", daemon=True)
        thread.start()

        def done() -> None:
            stop.set()
            thread.join()

        return done

    def _account_failed(self, run: _Run, account: Account, t0: float, error: str) -> AccountSummary:
        logger.error(
            "account scan failed",
            extra={"execution_id": run.execution_id, "account_id": account.account_id, "error": error},
        )
        # the account has failed already: whether its completion went out or not, the other accounts go on
        self._completion_published(
            AccountScanCompleted(
                execution_id=run.execution_id,
                account_id=account.account_id,
                status="failed",
                resource_count=0,
                duration_ms=int((time.monotonic() - t0) * 1000),
                scan_started_at=run.started_at,
                error=error,
            )
        )
        return AccountSummary(account_id=account.account_id, status="failed", resource_count=0)

    def _scan_locked_account(self, run: _Run, account: Account) -> AccountSummary:
        t0 = time.monotonic()
        try:
            session = self._sessions.open(account, run.execution_id)
            regions = list(account.regions or self._options.regions)  # the account may name its own
            if regions == [ALL_REGIONS]:
                regions = session.enabled_regions()
        except AssumeRoleError as exc:
            return self._account_failed(run, account, t0, str(exc))
        except Exception as exc:  # e.g. DescribeRegions denied: this account fails, the others go on
            return self._account_failed(run, account, t0, f"{type(exc).__name__}: {exc}")

        jobs = [
            (spec, Scope(account_id=account.account_id, region=region, resource_type=spec.slug))
            for spec in self._options.specs
            for region in scope_regions(spec, regions)
        ]
        run.counters.add(scopes_total=len(jobs))
        self._prefetch_tags(run, session, [scope for spec, scope in jobs if spec.tagging == "api"])
        futures = [run.scope_pool.submit(self._scan_scope, run, session, spec, scope) for spec, scope in jobs]
        scopes = [f.result() for f in futures]
        failed = [s.scope for s in scopes if s.status == "failed"]
        interrupted = run.cancel.is_set() and bool(failed)
        status: AccountStatus = "success"
        if failed:
            status = "failed" if len(failed) == len(scopes) and not interrupted else "partial"
        total = sum(s.resource_count for s in scopes)
        completed = AccountScanCompleted(
            execution_id=run.execution_id,
            account_id=account.account_id,
            status=status,
            resource_count=total,
            duration_ms=int((time.monotonic() - t0) * 1000),
            scan_started_at=run.started_at,
            scopes=scopes,
            failed_scopes=failed,
            error="scan interrupted before every scope finished" if interrupted else None,
        )
        if not self._completion_published(completed):
            # Without this event the archiver does not write the account's raw document for the day; the scan
            # reports the account failed, and the next scan writes it.
            return AccountSummary(account_id=account.account_id, status="failed", resource_count=total)
        logger.info(
            "account scanned",
            extra={
                "execution_id": run.execution_id,
                "account_id": account.account_id,
                "status": status,
                "resources": total,
                "failed_scopes": len(failed),
            },
        )
        return AccountSummary(account_id=account.account_id, status=status, resource_count=total)

    def _prefetch_tags(self, run: _Run, session: AccountSession, scopes: list[Scope]) -> None:
        """Start each region's Tagging API pass before the listings, so it runs beside them, not after.

        A scope of an ``api`` type waits for its region's pass at its first resource; queued first, the passes
        overlap the listings of the types that carry their own tags. A failed pass is only logged here: the
        scope that needs it asks again and fails alone.
        """
        if not isinstance(session, TagSource):
            return
        regions = {scope.region for scope in scopes if scope.region != GLOBAL_REGION}

        def fetch(region: str) -> None:
            try:
                session.resource_tags(region, run.tag_filters)
            except Exception as exc:  # the scope that needs the tags retries and reports the failure
                logger.warning("tag prefetch failed", extra={"region": region, "error": str(exc)})

        for region in sorted(regions):
            run.scope_pool.submit(fetch, region)

    def _normalized(self, run: _Run, session: AccountSession, spec: ResourceSpec, scope: Scope) -> Iterator[Resource]:
        # Tags of `api` types come from one Resource Groups Tagging API pass per account and region, joined by ARN.
        tags = session if spec.tagging == "api" and isinstance(session, TagSource) else None
        for raw_page in session.pages(spec, scope.region):
            if run.cancel.is_set():
                raise _Interrupted
            ctx = ScopeContext(account_id=scope.account_id, region=scope.region, discovered_at=self._clock())
            # Taken out of the page one by one: an item is freed once its resource is published, not when the last
            # item of a listing page of 1,000 is (8 scopes each held a whole EC2 page).
            raw_page.reverse()
            while raw_page:
                item = raw_page.pop()
                try:
                    resource = spec.normalize(item, ctx)
                except (InvalidResourceError, ValueError) as exc:
                    run.counters.add(invalid=1)
                    logger.warning(
                        "invalid resource skipped",
                        extra={
                            "execution_id": run.execution_id,
                            "account_id": scope.account_id,
                            "region": scope.region,
                            "resource_type": scope.resource_type,
                            "error": str(exc),
                        },
                    )
                    continue
                if tags is not None:
                    found = tags.resource_tags(resource.region, run.tag_filters).get(resource.resource_arn)
                    if found:
                        # what the item itself says wins over the tagging API's (possibly older) copy
                        resource = resource.model_copy(update={"tags": {**found, **resource.tags}})
                yield resource

    def _claim_check(self, run: _Run, resource: Resource) -> Resource | None:
        if not self._claims:
            run.counters.add(oversized=1)
            return None
        try:
            address = self._claims.put(run.execution_id, resource.raw)
        except ClaimCheckError as exc:
            run.counters.add(oversized=1)
            logger.warning("claim check failed", extra={"arn": resource.resource_arn, "error": str(exc)})
            return None
        run.counters.add(claim_checks=1)
        return resource.model_copy(update={"raw": {CLAIM_CHECK_KEY: address}})

    def _gate(self, run: _Run, scope: Scope) -> threading.Semaphore:
        key = (scope.account_id, scope.region)
        with run.gates_lock:
            gate = run.region_gates.get(key)
            if gate is None:
                gate = run.region_gates[key] = threading.Semaphore(self._options.region_concurrency)
            return gate

    def _completion_published(self, event: AnyEvent) -> bool:
        """Publish a scope's or account's completion; False, logged, when the publisher gave up (PUBLISH_RETRY).

        A completion that cannot be sent fails its scope or account, never the scan: the other scopes and
        accounts go on.
        """
        try:
            self._publisher.publish([event])
        except PublishError as exc:
            logger.error("completion not published", extra={"event_type": event.event_type, "error": str(exc)})
            return False
        return True

    def _publish_page(self, run: _Run, event: AnyEvent, size: int) -> _InFlight:
        """Hand the page to the publish pool if it has a free place, else publish it here and now."""
        slots = run.publish_slots
        if run.publish_pool is None or slots is None or not slots.acquire(blocking=False):
            self._publisher.publish([event])
            return _InFlight(None, size)
        try:
            future = run.publish_pool.submit(self._publisher.publish, [event])
        except BaseException:
            slots.release()
            raise
        future.add_done_callback(lambda _: slots.release())
        return _InFlight(future, size)

    def _page_published(self, run: _Run, scope: Scope, in_flight: _InFlight | None) -> None:
        """Wait for a page handed to the publish pool (its error raises here) and count it as published."""
        if in_flight is None:
            return
        if in_flight.future is not None:
            in_flight.future.result()
        run.counters.add(resources=in_flight.size, pages=1, resource_type=scope.resource_type)
        self._report(run)

    def _scan_scope(self, run: _Run, session: AccountSession, spec: ResourceSpec, scope: Scope) -> ScopeSummary:
        with log_keys(
            execution_id=run.execution_id,
            account_id=scope.account_id,
            region=scope.region,
            resource_type=scope.resource_type,
        ):
            return self._scan_scope_logged(run, session, spec, scope)

    def _scan_scope_logged(self, run: _Run, session: AccountSession, spec: ResourceSpec, scope: Scope) -> ScopeSummary:
        page_no = 0
        count = 0
        error: str | None = None
        interrupted = False
        in_flight: _InFlight | None = None
        with self._gate(run, scope):
            try:
                if run.cancel.is_set():
                    raise _Interrupted
                for page in paginate_resources(
                    self._normalized(run, session, spec, scope),
                    max_bytes=self._options.page_max_bytes,
                    max_items=self._options.page_max_items,
                    oversize=lambda r: self._claim_check(run, r),
                ):
                    page_no += 1
                    count += len(page)
                    event: AnyEvent = ResourcesDiscovered(
                        execution_id=run.execution_id,
                        scope=scope,
                        page=page_no,
                        scan_started_at=run.started_at,
                        resources=page,
                    )
                    # one page publishing behind the listing: page N goes out while page N + 1 is listed
                    self._page_published(run, scope, in_flight)
                    in_flight = self._publish_page(run, event, len(page))
                    # Not held while the next page is listed: published, it can go now (in flight, the pool holds it).
                    del page, event
                self._page_published(run, scope, in_flight)
                in_flight = None
            except _Interrupted:
                interrupted = True
                error = "scan interrupted"
            except Exception as exc:  # any failure of one scope must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "scope failed",
                    extra={
                        "execution_id": run.execution_id,
                        "account_id": scope.account_id,
                        "region": scope.region,
                        "resource_type": scope.resource_type,
                        "error": error,
                    },
                )
            if in_flight is not None:  # the listing failed: the page already handed over still goes out first
                try:
                    self._page_published(run, scope, in_flight)
                except Exception as exc:
                    error = error or f"{type(exc).__name__}: {exc}"
        status: ScopeStatus = "failed" if error else "complete"
        # An interrupted scope gets no ScopeCompleted at all: no consumer may read it as finished.
        if not interrupted:
            completed = ScopeCompleted(
                execution_id=run.execution_id,
                scope=scope,
                status=status,
                resource_count=count,
                page_count=page_no,
                scan_started_at=run.started_at,
                error=error,
            )
            if not self._completion_published(completed):
                # No consumer sweeps a scope without its completion, so nothing of it is called missing; it counts
                # as failed and the next scan lists it again.
                status = "failed"
        run.counters.add(failed_scopes=1 if status == "failed" else 0, scopes_done=1)
        self._report(run)
        return ScopeSummary(scope=scope, status=status, resource_count=count, page_count=page_no)
