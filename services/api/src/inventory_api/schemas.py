"""HTTP shapes, exactly as TRD section 4 names them (camelCase JSON)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResourcePublic(ApiModel):
    resourceId: str
    resourceArn: str
    resourceType: str
    name: str
    region: str
    accountId: str
    accountName: str
    state: str
    tags: dict[str, str]
    lastDiscoveredAt: str
    discoveryStatus: str


class Pagination(ApiModel):
    page: int
    pageSize: int
    totalItems: int
    totalPages: int


class AccountRef(ApiModel):
    id: str
    name: str


class Filters(ApiModel):
    resourceTypes: list[str]
    regions: list[str]
    accounts: list[AccountRef]


class ResourcesPage(ApiModel):
    items: list[ResourcePublic]
    pagination: Pagination
    filters: Filters


class Health(ApiModel):
    status: str
