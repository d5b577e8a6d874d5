"""Filtering, sorting and paging of the inventory for the grid."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from inventory_api.ports import InventoryReader
from inventory_api.schemas import AccountRef, Filters, Pagination, ResourcePublic, ResourcesPage


@dataclass(frozen=True)
class ResourceQuery:
    account_ids: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    search: str | None = None
    page: int = 1
    page_size: int = 25
    sort_by: str = "name"
    sort_order: str = "asc"


def _matches(item: dict[str, Any], query: ResourceQuery) -> bool:
    checks = (
        ("accountId", query.account_ids),
        ("resourceType", query.resource_types),
        ("region", query.regions),
        ("discoveryStatus", query.statuses),
    )
    if any(wanted and item.get(field) not in wanted for field, wanted in checks):
        return False
    if query.search:
        needle = query.search.lower()
        return any(needle in str(item.get(f, "")).lower() for f in ("name", "resourceId", "resourceArn"))
    return True


class InventoryQueryService:
    def __init__(self, reader: InventoryReader) -> None:
        self._reader = reader

    def list_resources(self, query: ResourceQuery) -> ResourcesPage:
        account_names = {a.account_id: a.account_name for a in self._reader.accounts()}
        single_account = query.account_ids[0] if len(query.account_ids) == 1 else None
        items = self._reader.resources(single_account)
        matched = [i for i in items if _matches(i, query)]
        matched.sort(
            key=lambda i: (str(i.get(query.sort_by, "")).lower(), str(i.get("resourceArn", ""))),
            reverse=query.sort_order == "desc",
        )
        total = len(matched)
        start = (query.page - 1) * query.page_size
        window = matched[start : start + query.page_size]
        return ResourcesPage(
            items=[
                ResourcePublic(
                    resourceId=i["resourceId"],
                    resourceArn=i["resourceArn"],
                    resourceType=i["resourceType"],
                    name=i.get("name", ""),
                    region=i["region"],
                    accountId=i["accountId"],
                    accountName=account_names.get(i["accountId"], i["accountId"]),
                    state=i.get("state", ""),
                    tags={str(k): str(v) for k, v in (i.get("tags") or {}).items()},
                    lastDiscoveredAt=i.get("lastDiscoveredAt", ""),
                    discoveryStatus=i.get("discoveryStatus", "active"),
                )
                for i in window
            ],
            pagination=Pagination(
                page=query.page,
                pageSize=query.page_size,
                totalItems=total,
                totalPages=math.ceil(total / query.page_size) if total else 0,
            ),
            filters=Filters(
                resourceTypes=sorted({i["resourceType"] for i in items}),
                regions=sorted({i["region"] for i in items}),
                accounts=[AccountRef(id=a, name=n) for a, n in sorted(account_names.items())],
            ),
        )
