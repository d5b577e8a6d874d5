from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from inventory_lake import arrow_table, ensure_tables
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import And, EqualTo, In, Or

from lake_writer.ports import CommitConflictError, KnownRow


class IcebergLakeStore:
    """``resources`` and ``resource_history`` through pyiceberg; each write is one transaction per table."""

    def __init__(self, catalog: Catalog, namespace: str) -> None:
        self._catalog = catalog
        self._namespace = namespace
        self._resources, self._history = ensure_tables(catalog, namespace)

    def known(self, arns: Sequence[str]) -> dict[str, KnownRow]:
        self._resources = self._resources.refresh()
        if not arns or self._resources.current_snapshot() is None:
            return {}
        found = self._resources.scan(
            row_filter=In("resource_arn", set(arns)),
            selected_fields=("resource_arn", "first_discovered_at", "last_discovered_at"),
        ).to_arrow()
        return {
            row["resource_arn"]: KnownRow(row["first_discovered_at"], row["last_discovered_at"])
            for row in found.to_pylist()
        }

    def write(self, resource_rows: list[dict[str, Any]], history_rows: list[dict[str, Any]]) -> None:
        with warnings.catch_warnings():
            # Replacing rows that are not there yet is the normal first sighting, not a problem.
            warnings.filterwarnings("ignore", "Delete operation did not match any records", UserWarning)
            self._write(resource_rows, history_rows)

    def _write(self, resource_rows: list[dict[str, Any]], history_rows: list[dict[str, Any]]) -> None:
        try:
            if resource_rows:
                with self._resources.transaction() as tx:
                    tx.delete(In("resource_arn", {r["resource_arn"] for r in resource_rows}))
                    tx.append(arrow_table(resource_rows, self._resources.schema().as_arrow()))
            if history_rows:
                self._history = self._history.refresh()
                keys = [
                    And(EqualTo("execution_id", r["execution_id"]), EqualTo("resource_arn", r["resource_arn"]))
                    for r in history_rows
                ]
                by_execution = self._history_filter(history_rows) if len(keys) > 1 else keys[0]
                with self._history.transaction() as tx:
                    tx.delete(by_execution)
                    tx.append(arrow_table(history_rows, self._history.schema().as_arrow()))
        except CommitFailedException as exc:
            self._resources = self._resources.refresh()
            self._history = self._history.refresh()
            raise CommitConflictError(str(exc)) from exc

    @staticmethod
    def _history_filter(rows: list[dict[str, Any]]) -> Any:
        by_execution: dict[str, set[str]] = {}
        for r in rows:
            by_execution.setdefault(r["execution_id"], set()).add(r["resource_arn"])
        parts = [And(EqualTo("execution_id", ex), In("resource_arn", arns)) for ex, arns in by_execution.items()]
        expr = parts[0]
        for part in parts[1:]:
            expr = Or(expr, part)
        return expr
