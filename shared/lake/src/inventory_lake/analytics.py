"""Summary figures of the estate from DuckDB over the Iceberg tables (for the API and the CLI)."""

from __future__ import annotations

from typing import Any

import duckdb

_COUNTS = {
    "byType": "resource_type",
    "byRegion": "region",
    "byAccount": "account_id",
    "byStatus": "discovery_status",
}

_CHANGES = """
WITH scans AS (
    SELECT execution_id, min(discovered_at) AS started FROM resource_history GROUP BY execution_id
), ranked AS (
    SELECT execution_id, started, row_number() OVER (ORDER BY started DESC) AS n FROM scans
), cur AS (
    SELECT h.resource_arn, h.state FROM resource_history h JOIN ranked r USING (execution_id) WHERE r.n = 1
), prev AS (
    SELECT h.resource_arn, h.state FROM resource_history h JOIN ranked r USING (execution_id) WHERE r.n = 2
)
SELECT
    (SELECT execution_id FROM ranked WHERE n = 1) AS current_execution,
    (SELECT execution_id FROM ranked WHERE n = 2) AS previous_execution,
    (SELECT count(*) FROM cur WHERE resource_arn NOT IN (SELECT resource_arn FROM prev)) AS appeared,
    (SELECT count(*) FROM prev WHERE resource_arn NOT IN (SELECT resource_arn FROM cur)) AS disappeared,
    (SELECT count(*) FROM cur JOIN prev USING (resource_arn) WHERE cur.state IS DISTINCT FROM prev.state) AS changed
"""


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts by type, region, account and status, and what changed between the last two scans.

    Expects the views of :func:`inventory_lake.duck.attach_views`; missing views give empty figures.
    """
    views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    result: dict[str, Any] = {key: {} for key in _COUNTS}
    result["total"] = 0
    result["changesSincePreviousScan"] = None
    if "resources" in views:
        for key, column in _COUNTS.items():
            # the column is one of _COUNTS' constants, never input
            query = f"SELECT {column}, count(*) FROM resources GROUP BY 1 ORDER BY 2 DESC, 1"  # nosec B608
            rows = con.execute(query).fetchall()
            result[key] = {str(value): int(n) for value, n in rows}
        result["total"] = sum(result["byStatus"].values())
    if "resource_history" in views:
        current, previous, appeared, disappeared, changed = con.execute(_CHANGES).fetchone() or (None,) * 5
        if current is not None:
            result["changesSincePreviousScan"] = {
                "currentExecutionId": current,
                "previousExecutionId": previous,
                "appeared": int(appeared or 0),
                "disappeared": int(disappeared or 0),
                "changed": int(changed or 0),
            }
    return result
