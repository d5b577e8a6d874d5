from __future__ import annotations

from typing import Any

from inventory_api.service import InventoryQueryService, ResourceQuery
from inventory_core.items import Account


class InMemoryInventoryReader:
    def __init__(self, items: list[dict[str, Any]], accounts: list[Account]) -> None:
        self.items = items
        self._accounts = accounts

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        return [i for i in self.items if account_id is None or i["accountId"] == account_id]

    def accounts(self) -> list[Account]:
        return self._accounts


def item(n: int, account: str = "111111111111", rtype: str = "ec2", region: str = "us-east-1") -> dict[str, Any]:
    return {
        "resourceId": f"id-{n:03d}",
        "resourceArn": f"arn:aws:{rtype}:{region}:{account}:x/id-{n:03d}",
        "resourceType": rtype,
        "accountId": account,
        "region": region,
        "name": f"name-{n:03d}",
        "state": "running",
        "tags": {"team": "a"},
        "lastDiscoveredAt": "2026-11-25T02:00:00.000000Z",
        "discoveryStatus": "active" if n % 5 else "missing",
    }


ITEMS = [
    item(n, account="111111111111" if n % 2 else "222222222222", rtype="ec2" if n < 30 else "s3") for n in range(47)
]
SERVICE = InventoryQueryService(
    InMemoryInventoryReader(ITEMS, [Account("111111111111", "Prod", True), Account("222222222222", "Dev", True)])
)


def test_pages_cover_every_item_once() -> None:
    seen: list[str] = []
    for page_no in range(1, 5):
        result = SERVICE.list_resources(ResourceQuery(page=page_no, page_size=20))
        seen += [i.resourceArn for i in result.items]
    assert result.pagination.totalItems == 47
    assert result.pagination.totalPages == 3
    assert sorted(seen) == sorted(i["resourceArn"] for i in ITEMS)


def test_filters_combine_and_accept_lists() -> None:
    result = SERVICE.list_resources(
        ResourceQuery(account_ids=("111111111111",), resource_types=("s3",), statuses=("active",), page_size=500)
    )
    expected = {
        i["resourceArn"]
        for i in ITEMS
        if i["accountId"] == "111111111111" and i["resourceType"] == "s3" and i["discoveryStatus"] == "active"
    }
    assert {i.resourceArn for i in result.items} == expected
    assert all(i.accountName == "Prod" for i in result.items)


def test_search_is_a_case_insensitive_substring_of_name_id_or_arn() -> None:
    result = SERVICE.list_resources(ResourceQuery(search="NAME-01", page_size=500))
    assert {i.name for i in result.items} == {f"name-{n:03d}" for n in range(10, 20)}


def test_sort_descending_by_name() -> None:
    result = SERVICE.list_resources(ResourceQuery(sort_by="name", sort_order="desc", page_size=3))
    assert [i.name for i in result.items] == ["name-046", "name-045", "name-044"]


def test_filter_options_list_every_type_region_and_account() -> None:
    result = SERVICE.list_resources(ResourceQuery(resource_types=("s3",)))
    assert result.filters.resourceTypes == ["ec2", "s3"]
    assert [a.name for a in result.filters.accounts] == ["Prod", "Dev"]
