from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from inventory_api.audit import AuditService
from inventory_api.auth import Principal
from inventory_api.deps import (
    Admin,
    SyncOperator,
    Viewer,
    actor,
    audit_service,
    body_schema,
    export_service,
    json_body,
    query_service,
    sync_service,
)
from inventory_api.export import ExportService
from inventory_api.schemas import (
    AuditPage,
    ErrorBody,
    ExportRequest,
    ExportResponse,
    ResourceDetail,
    ResourceListQuery,
    ResourcesPage,
    ScanExecutionPublic,
    StatusResponse,
    SyncRequest,
    SyncResponse,
)
from inventory_api.service import InventoryQueryService, ResourceQuery
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


@router.get("/resources", response_model=ResourcesPage)
def list_resources(
    _who: Viewer,
    service: Annotated[InventoryQueryService, Depends(query_service)],
    query: Annotated[ResourceListQuery, Query()],
) -> ResourcesPage:
    return service.list_resources(
        ResourceQuery(
            **query.query_fields(),
            page=query.page,
            page_size=query.pageSize,
            sort_by=query.sortBy,
            sort_order=query.sortOrder,
        )
    )


@router.post(
    "/resources/export",
    response_model=ExportResponse,
    openapi_extra=body_schema(ExportRequest),
    responses={413: {**_ERR, "description": "The body is over MAX_BODY_BYTES"}},
)
def export_resources(
    who: Viewer,
    request: Request,
    service: Annotated[ExportService, Depends(export_service)],
    body: Annotated[ExportRequest, Depends(json_body(ExportRequest))],  # after the role check: see json_body
) -> ExportResponse:
    result = service.export(actor(request, who), body)
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
    openapi_extra=body_schema(SyncRequest, required=False),
    responses={
        200: {"model": SyncResponse, "description": "A sync of that account is already running: its executionId"},
        413: {**_ERR, "description": "The body is over MAX_BODY_BYTES"},
        404: {**_ERR, "description": "Unknown account"},
        409: {**_ERR, "description": "Sync is disabled for the account (or for all)"},
    },
)
def trigger_sync(
    who: SyncOperator,
    request: Request,
    response: Response,
    service: Annotated[SyncService, Depends(sync_service)],
    body: Annotated[SyncRequest | None, Depends(json_body(SyncRequest, optional=True))],  # after the role check
) -> SyncResponse:
    outcome = service.trigger(body.accountId if body else None, actor(request, who))
    if not outcome.started:
        response.status_code = 200
        return SyncResponse(
            message="A sync is already in progress", executionId=outcome.execution_id, status="in_progress"
        )
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
