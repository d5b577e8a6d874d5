"""The scan: accounts x regions x types, pages out as events, never claiming what it could not see."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock

from inventory_core.items import Account
from inventory_events import (
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
    ScopeSummary,
    utc_now,
)

from scanner.catalog import InvalidResourceError, ResourceSpec, ScopeContext, scope_regions
from scanner.ports import AccountDirectory, AccountSession, AssumeRoleError, EventPublisher, SessionProvider

logger = logging.getLogger(__name__)


@dataclass
class ScanCounters:
    """What a scan saw, for logs, metrics and the CLI."""

    resources: int = 0
    pages: int = 0
    invalid: int = 0
    failed_scopes: int = 0
    _lock: Lock = field(default_factory=Lock, repr=False)

    def add(self, *, resources: int = 0, pages: int = 0, invalid: int = 0, failed_scopes: int = 0) -> None:
        """Add to the counters (thread-safe)."""
        with self._lock:
            self.resources += resources
            self.pages += pages
            self.invalid += invalid
            self.failed_scopes += failed_scopes


@dataclass(frozen=True)
class ScanOptions:
    """Knobs of a scan."""

    regions: Sequence[str]
    specs: Sequence[ResourceSpec]
    max_workers: int = 8
    max_accounts: int = 4
    page_max_bytes: int = 200_000
    page_max_items: int = 500


def paginate_resources(resources: Iterable[Resource], *, max_bytes: int, max_items: int) -> Iterator[list[Resource]]:
    """Group resources into pages whose JSON stays under ``max_bytes`` (SNS/SQS limit) and ``max_items``.

    A single resource larger than ``max_bytes`` is dropped with a warning: it cannot travel in a message.
    """
    page: list[Resource] = []
    size = 0
    for resource in resources:
        item_size = len(resource.model_dump_json()) + 1
        if item_size > max_bytes:
            logger.warning("resource too large for a message, skipped", extra={"arn": resource.resource_arn})
            continue
        if page and (size + item_size > max_bytes or len(page) >= max_items):
            yield page
            page, size = [], 0
        page.append(resource)
        size += item_size
    if page:
        yield page


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
    ) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._publisher = publisher
        self._options = options
        self._clock = clock

    def scan(self, request: ScanRequested) -> ScanCompleted:
        """Scan every requested enabled account; return (and publish) the ScanCompleted event."""
        started_at = self._clock()
        t0 = time.monotonic()
        accounts = self._accounts.enabled_accounts(request.account_ids)
        counters = ScanCounters()
        logger.info(
            "scan started",
            extra={"execution_id": request.execution_id, "accounts": len(accounts), "trigger": request.trigger},
        )
        with (
            ThreadPoolExecutor(self._options.max_workers, thread_name_prefix="scope") as scope_pool,
            ThreadPoolExecutor(self._options.max_accounts, thread_name_prefix="account") as account_pool,
        ):
            summaries = list(
                account_pool.map(
                    lambda account: self._scan_account(request.execution_id, account, started_at, scope_pool, counters),
                    accounts,
                )
            )
        completed = ScanCompleted(
            execution_id=request.execution_id,
            scan_started_at=started_at,
            duration_ms=int((time.monotonic() - t0) * 1000),
            accounts=summaries,
        )
        self._publisher.publish([completed])
        logger.info(
            "scan finished",
            extra={
                "execution_id": request.execution_id,
                "resources": counters.resources,
                "pages": counters.pages,
                "invalid_resources": counters.invalid,
                "failed_scopes": counters.failed_scopes,
                "duration_ms": completed.duration_ms,
            },
        )
        return completed

    def _scan_account(
        self,
        execution_id: str,
        account: Account,
        started_at: datetime,
        scope_pool: ThreadPoolExecutor,
        counters: ScanCounters,
    ) -> AccountSummary:
        t0 = time.monotonic()
        try:
            session = self._sessions.open(account, execution_id)
        except AssumeRoleError as exc:
            logger.error("assume role failed", extra={"account_id": account.account_id, "error": str(exc)})
            event = AccountScanCompleted(
                execution_id=execution_id,
                account_id=account.account_id,
                status="failed",
                resource_count=0,
                duration_ms=int((time.monotonic() - t0) * 1000),
                scan_started_at=started_at,
                error=str(exc),
            )
            self._publisher.publish([event])
            return AccountSummary(account_id=account.account_id, status="failed", resource_count=0)

        jobs = [
            (spec, Scope(account_id=account.account_id, region=region, resource_type=spec.slug))
            for spec in self._options.specs
            for region in scope_regions(spec, list(self._options.regions))
        ]
        futures = [
            scope_pool.submit(self._scan_scope, execution_id, session, spec, scope, started_at, counters)
            for spec, scope in jobs
        ]
        scopes = [f.result() for f in futures]
        failed = [s.scope for s in scopes if s.status == "failed"]
        status: AccountStatus = "success" if not failed else ("failed" if len(failed) == len(scopes) else "partial")
        total = sum(s.resource_count for s in scopes)
        self._publisher.publish(
            [
                AccountScanCompleted(
                    execution_id=execution_id,
                    account_id=account.account_id,
                    status=status,
                    resource_count=total,
                    duration_ms=int((time.monotonic() - t0) * 1000),
                    scan_started_at=started_at,
                    scopes=scopes,
                    failed_scopes=failed,
                )
            ]
        )
        return AccountSummary(account_id=account.account_id, status=status, resource_count=total)

    def _normalized(
        self, session: AccountSession, spec: ResourceSpec, scope: Scope, counters: ScanCounters
    ) -> Iterator[Resource]:
        for raw_page in session.pages(spec, scope.region):
            ctx = ScopeContext(account_id=scope.account_id, region=scope.region, discovered_at=self._clock())
            for item in raw_page:
                try:
                    yield spec.normalize(item, ctx)
                except (InvalidResourceError, ValueError) as exc:
                    counters.add(invalid=1)
                    logger.warning("invalid resource skipped", extra={"scope": scope.key, "error": str(exc)})

    def _scan_scope(
        self,
        execution_id: str,
        session: AccountSession,
        spec: ResourceSpec,
        scope: Scope,
        started_at: datetime,
        counters: ScanCounters,
    ) -> ScopeSummary:
        page_no = 0
        count = 0
        error: str | None = None
        try:
            for page in paginate_resources(
                self._normalized(session, spec, scope, counters),
                max_bytes=self._options.page_max_bytes,
                max_items=self._options.page_max_items,
            ):
                page_no += 1
                count += len(page)
                event: AnyEvent = ResourcesDiscovered(
                    execution_id=execution_id, scope=scope, page=page_no, scan_started_at=started_at, resources=page
                )
                self._publisher.publish([event])
        except Exception as exc:  # any failure of one scope must not stop the others
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("scope failed", extra={"scope": scope.key, "error": error})
        status = "failed" if error else "complete"
        counters.add(resources=count, pages=page_no, failed_scopes=1 if error else 0)
        self._publisher.publish(
            [
                ScopeCompleted(
                    execution_id=execution_id,
                    scope=scope,
                    status=status,
                    resource_count=count,
                    page_count=page_no,
                    scan_started_at=started_at,
                    error=error,
                )
            ]
        )
        return ScopeSummary(scope=scope, status=status, resource_count=count, page_count=page_no)
