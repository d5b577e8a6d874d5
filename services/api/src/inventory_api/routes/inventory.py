from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from inventory_api.audit import AuditService
from inventory_api.auth import Principal
from inventory_api.deps import Admin, SyncOperator, Viewer, audit_service, export_service, query_service, sync_service
from inventory_api.errors import REQUEST_ID
from inventory_api.export import ExportService
from inventory_api.ports import StoreError
from inventory_api.schemas import (
    AuditPage,
    ErrorBody,
    ExportRequest,
    ExportResponse,
    ResourceDetail,
    ResourcesPage,
    ScanExecutionPublic,
    SortField,
    StatusResponse,
    SyncRequest,
    SyncResponse,
)
from inventory_api.service import ConflictError, InventoryQueryService, NotFoundError, ResourceQuery
from inventory_api.sync import SyncService

_ERR = {"model": ErrorBody}
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "The body is not JSON"},
    401: {**_ERR, "description": "No bearer token, or an invalid/expired one"},
    403: {**_ERR, "description": "The caller's role does not allow this"},
    422: {**_ERR, "description": "A parameter is invalid; details name it and say why"},
    429: {**_ERR, "description": "Over 100 requests per minute; see Retry-After"},
    500: {**_ERR, "description": "Internal error; the body carries the request id"},
    503: {**_ERR, "description": "A backing service is unavailable; retry"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {**_ERR, "description": "Not found"}}

router = APIRouter(prefix="/api/inventory", tags=["inventory"], responses=COMMON_ERRORS)
AuditAction = Literal[
    "sync",
    "export",
    "account.add",
    "account.update",
    "account.remove",
    "account.check",
    "account.adopt",
    "dlq.redrive",
]

# Comma lists (the grid's multi-select filters); the patterns are in the OpenAPI schema too.
ACCOUNT_LIST = r"^(\d{12}(,\d{12})*)?$"
STATUS_LIST = r"^((active|missing)(,(active|missing))*)?$"
TOKEN_LIST = r"^([A-Za-z0-9._:-]{1,128}(,[A-Za-z0-9._:-]{1,128})*)?$"
# The web grid virtualises its rows, so one page may hold a whole estate of 100,000 resources.
MAX_PAGE_SIZE = 100_000


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part for part in value.split(",") if part) if value else ()


def _source_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/resources", response_model=ResourcesPage)
def list_resources(
    _who: Viewer,
    service: Annotated[InventoryQueryService, Depends(query_service)],
    accountId: Annotated[
        str | None, Query(max_length=2000, pattern=ACCOUNT_LIST, description="Comma list of 12-digit account ids")
    ] = None,
    resourceType: Annotated[
        str | None, Query(max_length=2000, pattern=TOKEN_LIST, description="Comma list of types (ec2, s3, ...)")
    ] = None,
    region: Annotated[
        str | None, Query(max_length=2000, pattern=TOKEN_LIST, description="Comma list of regions")
    ] = None,
    status: Annotated[
        str | None, Query(max_length=200, pattern=STATUS_LIST, description="Comma list of active, missing")
    ] = None,
    search: Annotated[str | None, Query(max_length=256, description="Substring of name, id or ARN")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    pageSize: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
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


@router.post("/resources/export", response_model=ExportResponse)
def export_resources(
    who: Viewer,
    request: Request,
    service: Annotated[ExportService, Depends(export_service)],
    audit: Annotated[AuditService, Depends(audit_service)],
    body: Annotated[ExportRequest, Body()],
) -> ExportResponse:
    parameters = body.model_dump(mode="json")

    def record(outcome: str, **extra: Any) -> None:
        audit.record(
            who,
            "export",
            {**parameters, **extra},
            source_ip=_source_ip(request),
            outcome=outcome,
            request_id=REQUEST_ID.get(),
        )

    try:
        result = service.export(who.storage_id, body)
    except StoreError:
        record("failed")
        raise
    record("success", key=result.key, rows=result.rows)
    return ExportResponse(downloadUrl=result.download_url, expiresAt=result.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))


@router.get("/resources/{resourceArn:path}", response_model=ResourceDetail, responses=NOT_FOUND)
def get_resource(
    _who: Viewer,
    service: Annotated[InventoryQueryService, Depends(query_service)],
    resourceArn: Annotated[str, Path(min_length=1, max_length=2048, description="The ARN, URL-encoded")],
) -> ResourceDetail:
    return service.resource(resourceArn)


@router.post(
    "/sync",
    response_model=SyncResponse,
    status_code=202,
    responses={
        200: {"model": SyncResponse, "description": "A sync of that account is already running: its executionId"},
        404: {**_ERR, "description": "Unknown account"},
        409: {**_ERR, "description": "Sync is disabled for the account (or for all)"},
    },
)
def trigger_sync(
    who: SyncOperator,
    request: Request,
    response: Response,
    service: Annotated[SyncService, Depends(sync_service)],
    audit: Annotated[AuditService, Depends(audit_service)],
    body: Annotated[SyncRequest | None, Body()] = None,
) -> SyncResponse:
    account_id = body.accountId if body else None

    def record(outcome: str, **extra: Any) -> None:
        audit.record(
            who,
            "sync",
            {"accountId": account_id, **extra},
            source_ip=_source_ip(request),
            outcome=outcome,
            request_id=REQUEST_ID.get(),
        )

    try:
        outcome = service.trigger(account_id, who.user_id)
    except NotFoundError:
        record("not_found")
        raise
    except ConflictError:
        record("conflict")
        raise
    except StoreError:
        record("failed")
        raise
    if not outcome.started:
        record("already_running", executionId=outcome.execution_id)
        response.status_code = 200
        return SyncResponse(
            message="A sync is already in progress", executionId=outcome.execution_id, status="in_progress"
        )
    record("started", executionId=outcome.execution_id, accountIds=list(outcome.account_ids))
    return SyncResponse(message="Sync triggered successfully", executionId=outcome.execution_id, status="in_progress")


@router.get("/sync/{executionId}", response_model=ScanExecutionPublic, responses=NOT_FOUND)
def sync_progress(
    _who: Viewer,
    service: Annotated[SyncService, Depends(sync_service)],
    executionId: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")],
) -> ScanExecutionPublic:
    return service.execution(executionId)


@router.get("/status", response_model=StatusResponse)
def sync_status(_who: Viewer, service: Annotated[InventoryQueryService, Depends(query_service)]) -> StatusResponse:
    return service.status()


@router.get("/audit", response_model=AuditPage)
def audit_log(
    _who: Admin,
    audit: Annotated[AuditService, Depends(audit_service)],
    day: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="UTC day, yyyy-mm-dd (default: today)")
    ] = None,
    action: Annotated[AuditAction | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    # A well-formed day that has no records (or does not exist, like 2026-02-30) simply has no items.
    return audit.read(day or datetime.now(UTC).date().isoformat(), limit, (action,) if action else ())


__all__ = ["Principal", "router"]
