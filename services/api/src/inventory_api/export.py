"""Excel export: rows streamed from the read model into a write-only workbook, uploaded, presigned."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from inventory_api.audit import Actor, AuditService
from inventory_api.ports import ExportStore, StoreError
from inventory_api.schemas import ExportRequest
from inventory_api.service import InventoryQueryService, ResourceQuery

logger = logging.getLogger(__name__)

HEADERS = {
    "resourceId": ("Resource ID", 24),
    "resourceArn": ("ARN", 60),
    "resourceType": ("Type", 14),
    "name": ("Name", 32),
    "region": ("Region", 16),
    "accountId": ("Account ID", 15),
    "accountName": ("Account", 20),
    "state": ("State", 12),
    "tags": ("Tags", 50),
    "lastDiscoveredAt": ("Last discovered", 28),
    "firstDiscoveredAt": ("First discovered", 28),
    "discoveryStatus": ("Discovery status", 16),
}
MAX_CELL_CHARS = 32_767  # Excel's limit per cell


def format_tags(tags: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _cell(ws: WriteOnlyWorksheet, row: dict[str, Any], column: str) -> Any:
    raw = row.get(column)
    value = format_tags(raw or {}) if column == "tags" else ("" if raw is None else str(raw))
    value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]
    if value.startswith("="):  # a tag like "=HYPERLINK(...)" stays text, never a formula
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_xlsx(rows: Iterable[dict[str, Any]], columns: Sequence[str], path: Path) -> int:
    """Write rows to ``path`` with openpyxl's write-only mode; memory stays flat however many rows."""
    workbook = Workbook(write_only=True)
    sheet: Any = workbook.create_sheet("Inventory")  # write-only sheets borrow these attrs at runtime
    sheet.freeze_panes = "A2"
    for i, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(i)].width = HEADERS[column][1]
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=HEADERS[column][0])
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, row, c) for c in columns])
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    workbook.save(path)
    return count


@dataclass(frozen=True)
class ExportResult:
    key: str
    download_url: str
    expires_at: datetime
    rows: int


class ExportService:
    """An export is audited before its URL is handed out: no audit record, no export."""

    def __init__(
        self,
        query: InventoryQueryService,
        store: ExportStore,
        audit: AuditService,
        *,
        url_ttl_s: int = 3600,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._query = query
        self._store = store
        self._audit = audit
        self._url_ttl_s = url_ttl_s
        self._clock = clock

    def export(self, actor: Actor, request: ExportRequest) -> ExportResult:
        parameters = request.model_dump(mode="json")
        try:
            result = self._write(actor.principal.storage_id, request)
        except StoreError:
            self._audit.record(actor, "export", parameters, "failed")
            raise
        self._audit.record_before(actor, "export", {**parameters, "key": result.key, "rows": result.rows}, "success")
        signed_at = self._clock().replace(microsecond=0)  # the signature's X-Amz-Date has whole seconds
        url = self._store.download_url(result.key, self._url_ttl_s, result.filename)
        expires_at = signed_at + timedelta(seconds=self._url_ttl_s)
        return ExportResult(key=result.key, download_url=url, expires_at=expires_at, rows=result.rows)

    def _write(self, user_storage_id: str, request: ExportRequest) -> _Written:
        query = ResourceQuery(**request.filters.query_fields(), sort_by=request.sortBy, sort_order=request.sortOrder)
        stamp = self._clock().strftime("%Y%m%dT%H%M%S%fZ")
        key = f"exports/{user_storage_id}/{stamp}/export.xlsx"
        with tempfile.TemporaryDirectory(prefix="inventory-export-") as tmp:
            path = Path(tmp) / "export.xlsx"
            rows = write_xlsx(self._query.iter_resources(query), list(request.columns), path)
            size = path.stat().st_size
            self._store.upload(path, key)
        logger.info("export written", extra={"key": key, "rows": rows, "bytes": size})
        return _Written(key=key, rows=rows, filename=f"inventory-{stamp}.xlsx")


@dataclass(frozen=True)
class _Written:
    key: str
    rows: int
    filename: str
