"""GET /api/inventory/resource-history/{arn}: one resource's status per scan, from the lake (viewer role).

The lake writer appends a row to Iceberg ``resource_history`` for every scan that saw a resource; the
DynamoDB item keeps only first/last seen and missing-since. This route reads those rows newest first, a page
at a time (``limit`` at most 100, ``nextToken`` for older ones). A resource the lake has no row for answers
an empty list; ``available`` is false when there is no lake or no history table yet (both are normal: the
drawer says so). Its own path, not ``/resources/{arn}/history``: an ARN may itself end in ``/history``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from inventory_core.settings import IcebergSettings
from pydantic import Field, ValidationError

from inventory_api.deps import Viewer
from inventory_api.routes.inventory import COMMON_ERRORS, NOT_FOUND
from inventory_api.schemas import ApiModel

MAX_LIMIT = 100


class HistoryRows(Protocol):
    """Port: the lake's history rows of one ARN (None: the lake has no history table)."""

    def rows(self, arn: str, limit: int, after: tuple[datetime, str] | None) -> list[dict[str, Any]] | None: ...


class HistoryEntry(ApiModel):
    executionId: str = Field(description="The scan that saw the resource.")
    discoveredAt: str | None = Field(description="When that scan saw it (UTC, ISO 8601).")
    state: str | None
    name: str | None
    region: str | None
    resourceType: str | None


class ResourceHistoryPage(ApiModel):
    resourceArn: str
    available: bool = Field(description="False when there is no lake or its history table is not written yet.")
    items: list[HistoryEntry] = Field(description="Newest first.")
    nextToken: str | None = Field(description="Pass back for older entries; null on the last page.")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _encode(key: datetime, execution_id: str) -> str:
    text = json.dumps({"t": key.isoformat(), "e": execution_id})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[datetime, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return datetime.fromisoformat(raw["t"]), str(raw["e"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise HTTPException(422, "nextToken is not a token this list issued") from None


class ResourceHistoryService:
    def __init__(self, rows: HistoryRows | None) -> None:
        self._rows = rows

    def page(self, arn: str, limit: int, next_token: str | None) -> ResourceHistoryPage:
        after = _decode(next_token) if next_token else None
        found = None if self._rows is None else self._rows.rows(arn, limit + 1, after)
        if found is None:
            return ResourceHistoryPage(resourceArn=arn, available=False, items=[], nextToken=None)
        more, shown = len(found) > limit, found[:limit]
        items = [
            HistoryEntry(
                executionId=str(r["execution_id"]),
                discoveredAt=_iso(r["discovered_at"]),
                state=r["state"],
                name=r["name"],
                region=r["region"],
                resourceType=r["resource_type"],
            )
            for r in shown
        ]
        token = _encode(shown[-1]["k"], str(shown[-1]["execution_id"])) if more else None
        return ResourceHistoryPage(resourceArn=arn, available=True, items=items, nextToken=token)


_services: dict[str, ResourceHistoryService] = {}
_services_lock = threading.Lock()


def resource_history_service() -> ResourceHistoryService:
    """One service per lake configuration (tests point the environment at a new stack between requests)."""
    try:
        settings: IcebergSettings | None = IcebergSettings()
    except ValidationError:
        settings = None  # no lake configured: every answer is "not available"
    key = settings.model_dump_json() if settings else ""
    with _services_lock:
        service = _services.get(key)
        if service is None:
            from inventory_api.adapters.iceberg_history import DuckDbResourceHistory  # DuckDB only when used

            service = _services[key] = ResourceHistoryService(DuckDbResourceHistory(settings) if settings else None)
    return service


router = APIRouter(prefix="/api/inventory", tags=["inventory"], responses=COMMON_ERRORS)


@router.get(
    "/resource-history/{resourceArn:path}",
    response_model=ResourceHistoryPage,
    responses=NOT_FOUND,  # a path no route matches (an ARN with a line break), as for /resources/{arn}
)
def resource_history(
    _who: Viewer,
    service: Annotated[ResourceHistoryService, Depends(resource_history_service)],
    resourceArn: Annotated[str, Path(min_length=5, max_length=2048, pattern=r"^arn:", description="URL-encoded")],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    nextToken: Annotated[str | None, Query(max_length=512)] = None,
) -> ResourceHistoryPage:
    """The resource's status per scan from the lake's resource_history, newest first."""
    return service.page(resourceArn, limit, nextToken)
