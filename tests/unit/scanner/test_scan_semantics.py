from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from inventory_core.items import Account
from inventory_events import ScanRequested
from scanner.catalog import CATALOG, ResourceSpec, select_specs
from scanner.ports import ScanMetricsRecord
from scanner.service import CLAIM_CHECK_KEY, ScanOptions, ScanProgress, ScanService

from tests.builders import T0
from tests.fakes import (
    InMemoryAccountDirectory,
    InMemoryAccountSession,
    InMemoryClaimStore,
    InMemoryEventPublisher,
    InMemoryScanLock,
    InMemorySessionProvider,
)

A, B = "111111111111", "222222222222"


def instance(n: int, **extra: Any) -> dict[str, Any]:
    return {"InstanceId": f"i-{n}", "State": {"Name": "running"}, **extra}


@dataclass
class RecordingMetrics:
    records: list[ScanMetricsRecord] = field(default_factory=list)

    def record(self, record: ScanMetricsRecord) -> None:
        self.records.append(record)


def build(
    sessions: dict[str, Any], publisher: InMemoryEventPublisher, *, regions: list[str] | None = None, **kw: Any
) -> ScanService:
    return ScanService(
        InMemoryAccountDirectory([Account(A, "prod", True), Account(B, "dev", True)]),
        InMemorySessionProvider(sessions),
        publisher,
        ScanOptions(
            regions=regions or ["us-east-1"],
            specs=select_specs(["ec2", "s3"]),
            max_workers=2,
            page_max_bytes=20_000,
        ),
        clock=lambda: T0,
        **kw,
    )


def test_a_huge_item_travels_by_claim_check_and_its_neighbours_stay_in_the_message() -> None:
    # GIVEN one instance whose raw item alone is larger than a message page
    huge = instance(2, UserData="x" * 50_000)
    session = InMemoryAccountSession({("ec2", "us-east-1"): [instance(1), huge, instance(3)]}, page_size=10)
    publisher, claims = InMemoryEventPublisher(), InMemoryClaimStore()
    # WHEN
    build({A: session}, publisher, claims=claims).scan(ScanRequested(execution_id="x", account_ids=[A]))
    # THEN its raw item is stored aside and the message carries the address
    found = {r.resource_id: r for p in publisher.of_type("ResourcesDiscovered") for r in p.resources}
    assert set(found) == {"i-1", "i-2", "i-3"}
    address = found["i-2"].raw[CLAIM_CHECK_KEY]
    assert claims.stored[address]["UserData"] == "x" * 50_000
    assert found["i-2"].name == "i-2" and found["i-2"].state == "running"
    assert found["i-1"].raw == instance(1)
    assert all(len(p.model_dump_json()) < 20_000 + 2_000 for p in publisher.of_type("ResourcesDiscovered"))


def test_without_a_claim_store_a_huge_item_is_skipped_and_counted() -> None:
    session = InMemoryAccountSession({("ec2", "us-east-1"): [instance(1), instance(2, UserData="x" * 50_000)]})
    publisher, metrics = InMemoryEventPublisher(), RecordingMetrics()
    build({A: session}, publisher, metrics=metrics).scan(ScanRequested(execution_id="x", account_ids=[A]))
    assert [r.resource_id for p in publisher.of_type("ResourcesDiscovered") for r in p.resources] == ["i-1"]
    assert metrics.records[0].invalid_resources == 1
    assert metrics.records[0].resources_by_type == {"ec2": 1}


def test_an_account_locked_by_a_running_scan_is_skipped_with_the_reason() -> None:
    # GIVEN execution "first" holds the lock of account A
    lock = InMemoryScanLock()
    lock.acquire(A, "first", 3600)
    sessions = {a: InMemoryAccountSession({("ec2", "us-east-1"): [instance(1)]}) for a in (A, B)}
    publisher = InMemoryEventPublisher()
    # WHEN a second scan covers A and B
    result = build(sessions, publisher, lock=lock).scan(ScanRequested(execution_id="second"))
    # THEN A is skipped (no event of it at all), B is scanned, and the lock of A still belongs to "first"
    assert [(s.account_id, s.holder_execution_id) for s in result.skipped] == [(A, "first")]
    assert "still running" in result.skipped[0].reason
    assert [a.account_id for a in result.accounts] == [B]
    assert {e.account_id for e in publisher.of_type("AccountScanCompleted")} == {B}
    assert {p.scope.account_id for p in publisher.of_type("ResourcesDiscovered")} == {B}
    assert lock.held == {A: ("first", lock.now + 3600)}  # B's lock was released when its scan ended


def test_an_expired_lock_is_taken_over() -> None:
    lock = InMemoryScanLock()
    lock.acquire(A, "crashed", 60)
    lock.now += 61
    sessions = {A: InMemoryAccountSession({("ec2", "us-east-1"): [instance(1)]})}
    result = build(sessions, InMemoryEventPublisher(), lock=lock).scan(
        ScanRequested(execution_id="next", account_ids=[A])
    )
    assert [a.status for a in result.accounts] == ["success"]
    assert result.skipped == []


def test_taking_over_an_expired_lock_reports_the_abandoned_scan_partial() -> None:
    # GIVEN a scan that took A's lock and was killed
    lock = InMemoryScanLock()
    lock.acquire(A, "killed", 60)
    killed_at = lock.now
    lock.now += 61
    publisher = InMemoryEventPublisher()
    sessions = {A: InMemoryAccountSession({("ec2", "us-east-1"): [instance(1)]})}
    # WHEN the next scan takes over
    build(sessions, publisher, lock=lock).scan(ScanRequested(execution_id="next", account_ids=[A]))
    # THEN the killed execution's account is closed as partial with no scopes (so nothing is swept for it)
    closed = [e for e in publisher.of_type("AccountScanCompleted") if e.execution_id == "killed"]
    assert [(e.account_id, e.status, e.scopes, e.resource_count) for e in closed] == [(A, "partial", [], 0)]
    assert closed[0].scan_started_at.timestamp() <= killed_at
    assert "took over its lock" in (closed[0].error or "")
    assert [e.status for e in publisher.of_type("AccountScanCompleted") if e.execution_id == "next"] == ["success"]


@dataclass
class StoppingSession:
    """Lists pages forever until the scan is cancelled after the second page."""

    cancel: threading.Event
    calls: int = 0

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        if spec.slug != "ec2":
            yield [{"Name": "b1"}]
            return
        for n in range(100):
            if n == 2:
                self.cancel.set()
            yield [instance(n)]

    def enabled_regions(self) -> list[str]:
        return ["us-east-1"]


def test_a_cancelled_scan_leaves_unfinished_scopes_without_completion_and_the_account_partial() -> None:
    cancel = threading.Event()
    publisher = InMemoryEventPublisher()
    service = build({A: StoppingSession(cancel)}, publisher)
    service = service.with_options(max_workers=1)  # s3 first, then ec2 runs into the cancel
    service = service.with_options(specs=select_specs(["s3", "ec2"]))
    result = service.scan(ScanRequested(execution_id="x", account_ids=[A]), cancel=cancel)
    completed = {s.scope.resource_type for s in publisher.of_type("ScopeCompleted")}
    assert completed == {"s3"}
    account = publisher.of_type("AccountScanCompleted")[0]
    assert account.status == "partial"
    assert [s.resource_type for s in account.failed_scopes] == ["ec2"]
    assert "interrupted" in (account.error or "")
    assert [a.status for a in result.accounts] == ["partial"]


def test_all_regions_means_the_regions_enabled_in_each_account() -> None:
    session = InMemoryAccountSession(
        {("ec2", "us-east-1"): [instance(1)], ("ec2", "ap-south-1"): [instance(2)], ("s3", "global"): []}
    )
    publisher = InMemoryEventPublisher()
    build({A: session}, publisher, regions=["all"]).scan(ScanRequested(execution_id="x", account_ids=[A]))
    regions = {s.scope.region for s in publisher.of_type("ScopeCompleted")}
    assert regions == {"ap-south-1", "us-east-1", "global"}


def test_progress_reports_reach_every_scope_and_resource() -> None:
    session = InMemoryAccountSession({("ec2", "us-east-1"): [instance(i) for i in range(5)]})
    seen: list[ScanProgress] = []
    build({A: session, B: session}, InMemoryEventPublisher()).scan(
        ScanRequested(execution_id="x"), progress=seen.append
    )
    last = seen[-1]
    assert (last.accounts_total, last.accounts_done) == (2, 2)
    assert (last.scopes_total, last.scopes_done, last.resources) == (4, 4, 10)


def test_the_whole_catalogue_has_forty_more_types_than_the_trd_with_cloudformation_names() -> None:
    assert len(CATALOG) >= 48
    assert len({s.cfn_type for s in CATALOG}) == len(CATALOG)
    assert {s.slug for s in CATALOG if s.is_global} >= {"s3", "iam-role", "cloudfront-distribution", "route53-zone"}


class BrokenLock(InMemoryScanLock):
    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> Any:
        if account_id == A:
            raise RuntimeError("lock table unreachable")
        return super().acquire(account_id, execution_id, ttl_s)


def test_an_unreachable_lock_fails_that_account_only() -> None:
    sessions = {a: InMemoryAccountSession({("ec2", "us-east-1"): [instance(1)]}) for a in (A, B)}
    publisher = InMemoryEventPublisher()
    result = build(sessions, publisher, lock=BrokenLock()).scan(ScanRequested(execution_id="x"))
    assert {a.account_id: a.status for a in result.accounts} == {A: "failed", B: "success"}
    failed = next(e for e in publisher.of_type("AccountScanCompleted") if e.account_id == A)
    assert "lock table unreachable" in (failed.error or "")


@dataclass
class CountingLock(InMemoryScanLock):
    acquires: list[str] = field(default_factory=list)

    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> Any:
        self.acquires.append(execution_id)
        return super().acquire(account_id, execution_id, ttl_s)


@dataclass
class SlowSession:
    """A listing that takes a while, as a large account does."""

    delay_s: float

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        threading.Event().wait(self.delay_s)
        yield [instance(1)] if spec.slug == "ec2" else []


def test_a_long_scan_keeps_renewing_its_lock_and_releases_it_at_the_end() -> None:
    # GIVEN a lock renewed every 20 ms and a scan that takes about 200 ms
    lock = CountingLock()
    service = ScanService(
        InMemoryAccountDirectory([Account(A, "prod", True)]),
        InMemorySessionProvider({A: SlowSession(0.1)}),  # type: ignore[dict-item]
        InMemoryEventPublisher(),
        ScanOptions(regions=["us-east-1"], specs=select_specs(["ec2", "s3"]), max_workers=1, lock_renew_s=0.02),
        clock=lambda: T0,
        lock=lock,
    )
    # WHEN
    result = service.scan(ScanRequested(execution_id="long", account_ids=[A]))
    # THEN the lock was taken once and renewed several times by the same execution, then released
    assert [a.status for a in result.accounts] == ["success"]
    assert len(lock.acquires) >= 4
    assert set(lock.acquires) == {"long"}
    assert lock.held == {}
