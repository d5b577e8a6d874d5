from __future__ import annotations

from typing import Any

import pytest
from archiver.service import ArchiverService, PagesPendingError, raw_key
from inventory_events import AccountScanCompleted, ResourcesDiscovered, ScopeSummary

from tests.builders import T0, resource
from tests.unit.archiver.memory_store import MemoryObjectStore

A = "111111111111"


def events() -> tuple[ResourcesDiscovered, AccountScanCompleted]:
    claimed = resource(2).model_copy(update={"raw": {"_claim_check": "s3://bucket/claims/x/abc.json"}})
    page = ResourcesDiscovered(
        execution_id="x", scope=claimed_scope(), page=1, scan_started_at=T0, resources=[resource(1), claimed]
    )
    done = AccountScanCompleted(
        execution_id="x",
        account_id=A,
        status="success",
        resource_count=2,
        duration_ms=1,
        scan_started_at=T0,
        scopes=[ScopeSummary(scope=claimed_scope(), status="complete", resource_count=2, page_count=1)],
    )
    return page, done


def claimed_scope() -> Any:
    from inventory_events import Scope

    return Scope(account_id=A, region="us-east-1", resource_type="ec2")


def test_the_archive_holds_the_claimed_item_itself_not_its_address() -> None:
    store = MemoryObjectStore({"claims/x/abc.json": {"InstanceId": "i-big", "UserData": "x" * 10}})
    page, done = events()
    service = ArchiverService(store)
    service.handle(page)
    service.handle(done)
    items = store.objects[raw_key(done)]["regions"]["us-east-1"]["ec2"]
    assert items == [resource(1).raw, {"InstanceId": "i-big", "UserData": "x" * 10}]


def test_a_claim_not_yet_readable_makes_the_account_retry() -> None:
    store = MemoryObjectStore()
    page, done = events()
    service = ArchiverService(store)
    service.handle(page)
    with pytest.raises(PagesPendingError, match="claims"):
        service.handle(done)
    assert raw_key(done) not in store.objects
