from __future__ import annotations

from inventory_core.items import Account
from inventory_events import ScanRequested
from scanner.catalog import CATALOG
from scanner.service import ScanOptions, ScanService

from tests.builders import T0
from tests.fakes import (
    InMemoryAccountDirectory,
    InMemoryAccountSession,
    InMemoryEventPublisher,
    InMemorySessionProvider,
)

A, B, C = "111111111111", "222222222222", "333333333333"


def instance(n: int) -> dict[str, object]:
    return {"InstanceId": f"i-{n}", "State": {"Name": "running"}}


def service(publisher: InMemoryEventPublisher, sessions: dict[str, InMemoryAccountSession]) -> ScanService:
    accounts = [
        Account(A, "prod", True),
        Account(B, "dev", True),
        Account(C, "off", False),
    ]
    return ScanService(
        InMemoryAccountDirectory(accounts),
        InMemorySessionProvider(sessions),
        publisher,
        ScanOptions(regions=["us-east-1", "eu-west-1"], specs=CATALOG, max_workers=4, page_max_items=2),
        clock=lambda: T0,
    )


def test_scan_publishes_pages_scopes_accounts_and_the_scan() -> None:
    # GIVEN account A with 5 instances in us-east-1 (3 message pages of at most 2) and one bucket; B cannot be assumed
    publisher = InMemoryEventPublisher()
    session = InMemoryAccountSession(
        {("ec2", "us-east-1"): [instance(i) for i in range(5)], ("s3", "global"): [{"Name": "b1"}]}
    )
    # WHEN
    result = service(publisher, {A: session}).scan(ScanRequested(execution_id="x"))
    # THEN
    pages = publisher.of_type("ResourcesDiscovered")
    ec2_pages = sorted(p.page for p in pages if p.scope.resource_type == "ec2")
    assert ec2_pages == [1, 2, 3]
    assert {r.resource_id for p in pages for r in p.resources} == {f"i-{i}" for i in range(5)} | {"b1"}
    scopes = {(s.scope.region, s.scope.resource_type): s for s in publisher.of_type("ScopeCompleted")}
    assert scopes[("us-east-1", "ec2")].page_count == 3
    assert scopes[("us-east-1", "ec2")].resource_count == 5
    assert scopes[("eu-west-1", "ec2")].page_count == 0
    assert scopes[("eu-west-1", "ec2")].status == "complete"
    assert ("global", "s3") in scopes
    accounts = {a.account_id: a for a in publisher.of_type("AccountScanCompleted")}
    assert accounts[A].status == "success"
    assert accounts[A].resource_count == 6
    assert accounts[B].status == "failed"
    assert "AccessDenied" in (accounts[B].error or "")
    assert C not in accounts  # sync disabled
    assert publisher.published[-1] == result
    assert {a.account_id: a.status for a in result.accounts} == {A: "success", B: "failed"}


def test_a_failing_scope_is_reported_failed_and_the_account_partial() -> None:
    publisher = InMemoryEventPublisher()
    session = InMemoryAccountSession(
        {("ec2", "us-east-1"): [instance(i) for i in range(5)]}, failing={("ec2", "us-east-1")}
    )
    service(publisher, {A: session}).scan(ScanRequested(execution_id="x", account_ids=[A]))
    failed = [s for s in publisher.of_type("ScopeCompleted") if s.status == "failed"]
    assert [(s.scope.region, s.scope.resource_type) for s in failed] == [("us-east-1", "ec2")]
    assert "Throttling" in (failed[0].error or "")
    account = publisher.of_type("AccountScanCompleted")[0]
    assert account.status == "partial"
    assert [s.resource_type for s in account.failed_scopes] == ["ec2"]


def test_invalid_items_are_skipped_and_the_rest_published() -> None:
    publisher = InMemoryEventPublisher()
    session = InMemoryAccountSession({("ec2", "us-east-1"): [instance(1), {"State": {}}, instance(2)]}, page_size=10)
    service(publisher, {A: session}).scan(ScanRequested(execution_id="x", account_ids=[A]))
    found = {r.resource_id for p in publisher.of_type("ResourcesDiscovered") for r in p.resources}
    assert found == {"i-1", "i-2"}
