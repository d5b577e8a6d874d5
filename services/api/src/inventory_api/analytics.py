"""Estate summary for the API, from DuckDB over the Iceberg tables (issue 6)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from inventory_api.schemas import AnalyticsSummary


class SummarySource(Protocol):
    """Computes the summary figures (counts by type/region/account/status, changes since the last scan)."""

    def summary(self) -> dict[str, Any]:
        """Return the figures as :func:`inventory_lake.analytics.summary` shapes them."""


class AnalyticsService:
    """Serves the summary, recomputed at most every ``ttl_s`` seconds (a DuckDB pass over the lake)."""

    def __init__(self, source: SummarySource, *, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._source = source
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, AnalyticsSummary] | None = None

    def summary(self) -> AnalyticsSummary:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._ttl_s:
                self._cached = (now, AnalyticsSummary.model_validate(self._source.summary()))
            return self._cached[1]
