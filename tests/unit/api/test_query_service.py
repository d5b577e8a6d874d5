from __future__ import annotations

from datetime import UTC, datetime

import pytest
from inventory_api.service import InventoryQueryService, NotFoundError, ResourceQuery
from inventory_core.items import Account

from tests.fakes.api import InMemoryInventoryReader, resource_item

ITEMS = [
    resource_item(
        n,
        account="111111111111" if n % 2 else "222222222222",
        rtype="ec2" if n < 30 else "s3",
        status="missing" if n % 5 == 0 else "active",
    )
    for n in range(47)
]
ACCOUNTS = [Account("111111111111", "Prod", True), Account("222222222222", "Dev", False)]


def service(**kwargs: object) -> InventoryQueryService:
    return InventoryQueryService(InMemoryInventoryReader.of(ITEMS, ACCOUNTS), **kwargs)  # type: ignore[arg-type]


def test_pages_cover_every_item_once() -> None:
    svc = service()
    seen: list[str] = []
    for page_no in range(1, 5):
        result = svc.list_resources(ResourceQuery(page=page_no, page_size=20))
        seen += [i.resourceArn for i in result.items]
    assert result.pagination.totalItems == 47
    assert result.pagination.totalPages == 3
    assert sorted(seen) == sorted(i["resourceArn"] for i in ITEMS)


def test_filters_combine_and_accept_lists() -> None:
    result = service().list_resources(
        ResourceQuery(account_ids=("111111111111",), resource_types=("s3", "rds"), statuses=("active",), page_size=500)
    )
    expected = {
        i["resourceArn"]
        for i in ITEMS
        if i["accountId"] == "111111111111" and i["resourceType"] == "s3" and i["discoveryStatus"] == "active"
    }
    assert {i.resourceArn for i in result.items} == expected
    assert all(i.accountName == "Prod" for i in result.items)


def test_search_is_a_case_insensitive_substring_of_name_id_or_arn() -> None:
    svc = service()
    by_name = svc.list_resources(ResourceQuery(search="NAME-00001", page_size=500))
    assert {i.name for i in by_name.items} == {f"name-{n:06d}" for n in range(10, 20)}
    by_arn = svc.list_resources(ResourceQuery(search="S3:US-EAST-1:111111111111", page_size=500))
    assert by_arn.pagination.totalItems == len(
        [i for i in ITEMS if i["resourceType"] == "s3" and i["accountId"] == "111111111111"]
    )


def test_sort_descending_by_name() -> None:
    result = service().list_resources(ResourceQuery(sort_by="name", sort_order="desc", page_size=3))
    assert [i.name for i in result.items] == ["name-000046", "name-000045", "name-000044"]


def test_sort_by_last_discovered_orders_timestamps() -> None:
    result = service().list_resources(ResourceQuery(sort_by="lastDiscoveredAt", page_size=500))
    stamps = [i.lastDiscoveredAt for i in result.items]
    assert stamps == sorted(stamps)


def test_filter_options_list_every_type_region_and_account() -> None:
    result = service().list_resources(ResourceQuery(resource_types=("s3",)))
    assert result.filters.resourceTypes == ["ec2", "s3"]
    assert [(a.id, a.name) for a in result.filters.accounts] == [("111111111111", "Prod"), ("222222222222", "Dev")]


def test_a_page_past_the_end_is_empty_with_true_totals() -> None:
    result = service().list_resources(ResourceQuery(page=99, page_size=25))
    assert result.items == []
    assert (result.pagination.totalItems, result.pagination.totalPages) == (47, 2)


def test_detail_has_tags_metadata_and_first_and_last_seen() -> None:
    arn = ITEMS[7]["resourceArn"]
    detail = service().resource(arn)
    assert detail.metadata == {"InstanceType": "t3.micro", "Count": 2}
    assert detail.tags == {"team": "t3", "env": "prod"}
    assert detail.firstDiscoveredAt == "2026-10-01T02:00:00.000000Z"
    assert detail.lastDiscoveredAt == ITEMS[7]["lastDiscoveredAt"]
    assert (detail.discoveryStatus, detail.accountName) == ("active", "Prod")


def test_detail_of_an_unknown_arn_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        service().resource("arn:aws:ec2:us-east-1:111111111111:instance/i-nope")


def test_status_lists_accounts_and_the_next_2am_run() -> None:
    svc = service(clock=lambda: datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    status = svc.status()
    assert status.nextScheduledSync == "2026-11-26T02:00:00Z"
    assert [(a.accountId, a.syncEnabled, a.resourceCount) for a in status.accounts] == [
        ("111111111111", True, 0),
        ("222222222222", False, 0),
    ]


def test_status_reports_the_last_sync_of_each_account() -> None:
    reader = InMemoryInventoryReader.of([], ACCOUNTS)
    reader.accounts[0].update(lastSyncedAt="2026-11-25T02:04:00Z", lastSyncStatus="partial", lastSyncResourceCount=42)
    account = InventoryQueryService(reader).status().accounts[0]
    assert (account.lastSyncedAt, account.lastSyncStatus, account.resourceCount) == (
        "2026-11-25T02:04:00Z",
        "partial",
        42,
    )


def test_without_a_ttl_every_request_reads_through() -> None:
    reader = InMemoryInventoryReader.of(ITEMS[:10], ACCOUNTS)
    svc = InventoryQueryService(reader)
    svc.list_resources(ResourceQuery())
    reader.items = ITEMS[:12]
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 12
