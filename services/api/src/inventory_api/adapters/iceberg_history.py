"""A resource's rows in the lake's ``resource_history`` table (one per scan that saw it), via DuckDB."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import duckdb
from inventory_core.settings import IcebergSettings
from inventory_lake import HISTORY_TABLE, load_catalog, load_table
from inventory_lake.duck import connect
from pyiceberg.catalog import Catalog

from inventory_api.ports import StoreError

_COLUMNS = ("execution_id", "discovered_at", "state", "name", "region", "resource_type")
# discovered_at may be null in an old row: it sorts as the oldest, and the cursor compares the same key
_KEY = "coalesce(discovered_at, TIMESTAMP '1970-01-01')"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDbResourceHistory:
    """Newest first, ``limit`` rows after a (discovered_at, execution_id) cursor, over the table's current
    snapshot. One DuckDB connection per process (its extensions load once, about a second), used under a lock;
    the catalog is asked for the table's current metadata on every call, so a new scan shows at once."""

    def __init__(self, settings: IcebergSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    def rows(self, arn: str, limit: int, after: tuple[datetime, str] | None) -> list[dict[str, Any]] | None:
        """The rows, or None when the lake has no history table (not written yet, or no lake)."""
        with self._lock:
            try:
                if self._catalog is None:
                    self._catalog = load_catalog(self._settings)
                table = load_table(self._catalog, self._settings.iceberg_namespace, HISTORY_TABLE)
                if table is None:
                    return None
                if self._con is None:
                    self._con = connect()
                where = "resource_arn = ?"
                params: list[object] = [arn]
                if after is not None:
                    where += f" AND ({_KEY} < ? OR ({_KEY} = ? AND execution_id < ?))"
                    params += [after[0], after[0], after[1]]
                # Only constants, an escaped literal and an int are formatted in; the ARN and cursor are bound.
                sql = (
                    f"SELECT DISTINCT {', '.join(_COLUMNS)}, {_KEY} AS k "  # nosec B608
                    f"FROM iceberg_scan({_literal(table.metadata_location)}) WHERE {where} "
                    f"ORDER BY k DESC, execution_id DESC LIMIT {int(limit)}"
                )
                found = self._con.execute(sql, params).fetchall()
            except (duckdb.Error, OSError) as exc:
                self._con = None  # a broken connection is rebuilt on the next call
                raise StoreError(f"the lake could not be read: {type(exc).__name__}") from exc
        return [dict(zip((*_COLUMNS, "k"), row, strict=True)) for row in found]
