from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from inventory_api.analytics import AnalyticsService
from inventory_api.deps import Viewer, analytics_service
from inventory_api.routes.inventory import COMMON_ERRORS
from inventory_api.schemas import AnalyticsSummary

router = APIRouter(prefix="/api/inventory/analytics", tags=["analytics"], responses=COMMON_ERRORS)


@router.get("/summary", response_model=AnalyticsSummary)
def analytics_summary(
    _who: Viewer, service: Annotated[AnalyticsService, Depends(analytics_service)]
) -> AnalyticsSummary:
    """Counts by type, region, account and status, and what changed since the previous scan (DuckDB over Iceberg)."""
    return service.summary()
