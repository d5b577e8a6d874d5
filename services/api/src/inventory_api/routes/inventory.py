from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from inventory_api.deps import query_service
from inventory_api.schemas import ResourcesPage
from inventory_api.service import InventoryQueryService, ResourceQuery

router = APIRouter(prefix="/api/inventory", tags=["inventory"])

SortField = Literal["name", "resourceType", "region", "accountId", "state", "lastDiscoveredAt", "discoveryStatus"]


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


@router.get("/resources", response_model=ResourcesPage)
def list_resources(
    service: Annotated[InventoryQueryService, Depends(query_service)],
    accountId: Annotated[str | None, Query(max_length=2000, description="Comma list of account ids")] = None,
    resourceType: Annotated[str | None, Query(max_length=2000)] = None,
    region: Annotated[str | None, Query(max_length=2000)] = None,
    status: Annotated[str | None, Query(max_length=200)] = None,
    search: Annotated[str | None, Query(max_length=256)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    pageSize: Annotated[int, Query(ge=1, le=500)] = 25,
    sortBy: SortField = "name",
    sortOrder: Literal["asc", "desc"] = "asc",
) -> ResourcesPage:
    return service.list_resources(
        ResourceQuery(
            account_ids=_csv(accountId),
            resource_types=_csv(resourceType),
            regions=_csv(region),
            statuses=_csv(status),
            search=search or None,
            page=page,
            page_size=pageSize,
            sort_by=sortBy,
            sort_order=sortOrder,
        )
    )
