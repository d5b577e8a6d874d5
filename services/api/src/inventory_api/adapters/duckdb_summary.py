from __future__ import annotations

from typing import Any

from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.analytics import summary
from inventory_lake.duck import open_views


class DuckDbSummarySource:
    """Opens DuckDB over the tables' current snapshots for each computation (the views pin a snapshot)."""

    def __init__(self, settings: IcebergSettings) -> None:
        self._settings = settings
        self._catalog = load_catalog(settings)

    def summary(self) -> dict[str, Any]:
        con = open_views(self._catalog, self._settings.iceberg_namespace)
        try:
            return summary(con)
        finally:
            con.close()
