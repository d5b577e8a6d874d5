"""Filtering, sorting and paging of the inventory for the grid; resource detail; sync status."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from inventory_core.items import account_id_of_item

from inventory_api.ports import InventoryReader
from inventory_api.readmodel import ReadModel, ResultKey, Snapshot, slim_row
from inventory_api.schedule import next_scheduled_sync
from inventory_api.schemas import (
    AccountRef,
    AccountStatus,
    Filters,
    Pagination,
    ResourceDetail,
    ResourcePublic,
    ResourcesPage,
    StatusResponse,
)


class NotFoundError(LookupError):
    """The thing asked for does not exist (HTTP 404)."""


class ConflictError(RuntimeError):
    """The request contradicts the current state (HTTP 409)."""


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

    def result_key(self) -> ResultKey:
        return ResultKey(
            account_ids=tuple(sorted(set(self.account_ids))),
            resource_types=tuple(sorted(set(self.resource_types))),
            regions=tuple(sorted(set(self.regions))),
            statuses=tuple(sorted(set(self.statuses))),
            search=(self.search or "").lower(),
            sort_by=self.sort_by,
            sort_order=self.sort_order,
        )


def plain_json(value: Any) -> Any:
    """DynamoDB values as JSON: Decimal -> int/float, sets -> sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(plain_json(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def _public(row: dict[str, Any], account_names: dict[str, str]) -> ResourcePublic:
    return ResourcePublic(
        resourceId=row["resourceId"],
        resourceArn=row["resourceArn"],
        resourceType=row["resourceType"],
        name=row["name"],
        region=row["region"],
        accountId=row["accountId"],
        accountName=account_names.get(row["accountId"]) or row["accountId"],
        state=row["state"],
        tags=row["tags"],
        lastDiscoveredAt=row["lastDiscoveredAt"],
        discoveryStatus=row["discoveryStatus"],
    )


class InventoryQueryService:
    def __init__(
        self,
        reader: InventoryReader,
        *,
        ttl_s: float = 0.0,
        stale_s: float = 0.0,
        schedule_expression: str = "cron(0 2 * * ? *)",
        schedule_timezone: str = "UTC",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        read_model: ReadModel | None = None,
    ) -> None:
        self._reader = reader
        self._model = read_model or ReadModel(reader, ttl_s=ttl_s, stale_s=stale_s)
        self._schedule_expression = schedule_expression
        self._schedule_timezone = schedule_timezone
        self._clock = clock

    def snapshot(self) -> Snapshot:
        return self._model.snapshot()

    def invalidate(self) -> None:
        """Forget the snapshot (an account was added or removed): the next request reads the table again."""
        self._model.invalidate()

    def list_resources(self, query: ResourceQuery) -> ResourcesPage:
        snap = self._model.snapshot()
        matched = snap.matching(query.result_key())
        total = len(matched)
        start = (query.page - 1) * query.page_size
        window = matched[start : start + query.page_size]
        return ResourcesPage(
            items=[_public(snap.rows[i], snap.account_names) for i in window],
            pagination=Pagination(
                page=query.page,
                pageSize=query.page_size,
                totalItems=total,
                totalPages=math.ceil(total / query.page_size) if total else 0,
            ),
            filters=Filters(
                resourceTypes=snap.resource_types,
                regions=snap.regions,
                accounts=[AccountRef(id=a, name=n or a) for a, n in sorted(snap.account_names.items())],
            ),
        )

    def iter_resources(self, query: ResourceQuery) -> Iterator[dict[str, Any]]:
        """Every matching row (no paging), with accountName, for exports."""
        snap = self._model.snapshot()
        for row in snap.iter_rows(snap.matching(query.result_key())):
            yield {**row, "accountName": snap.account_names.get(row["accountId"]) or row["accountId"]}

    def resource(self, resource_arn: str) -> ResourceDetail:
        snap = self._model.snapshot()
        index = snap.by_arn.get(resource_arn)
        if index is None:
            raise NotFoundError(f"no resource {resource_arn}")
        row = snap.rows[index]
        item = self._reader.resource(row["accountId"], row["resourceType"], resource_arn)
        if item is None:
            raise NotFoundError(f"no resource {resource_arn}")
        public = _public(slim_row(item), snap.account_names)
        return ResourceDetail(
            **public.model_dump(),
            metadata=plain_json(item.get("metadata") or {}),
            firstDiscoveredAt=str(item.get("firstDiscoveredAt") or ""),
            missingSince=str(item["missingSince"]) if item.get("missingSince") else None,
        )

    def status(self) -> StatusResponse:
        accounts = []
        for item in sorted(self._reader.account_items(), key=lambda i: str(i.get("pk"))):
            account_id = account_id_of_item(item)
            accounts.append(
                AccountStatus(
                    accountId=account_id,
                    accountName=str(item.get("accountName") or account_id),
                    lastSyncedAt=item.get("lastSyncedAt"),
                    lastSyncStatus=item.get("lastSyncStatus"),
                    resourceCount=int(item.get("lastSyncResourceCount") or 0),
                    syncEnabled=bool(item.get("syncEnabled", False)),
                )
            )
        upcoming = next_scheduled_sync(self._schedule_expression, self._schedule_timezone, self._clock())
        return StatusResponse(
            accounts=accounts,
            nextScheduledSync=upcoming.strftime("%Y-%m-%dT%H:%M:%SZ") if upcoming else None,
        )
