from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory_api.audit import Actor, AuditService
from inventory_api.auth import Principal, Role
from inventory_api.export import ExportService, write_xlsx
from inventory_api.schemas import ExportFilters, ExportRequest
from inventory_api.service import InventoryQueryService
from inventory_core.items import Account
from openpyxl import load_workbook

from tests.fakes.api import InMemoryAuditLog, InMemoryExportStore, InMemoryInventoryReader, resource_item

COLUMNS = ["name", "resourceId", "resourceArn", "tags", "region", "accountId", "state", "lastDiscoveredAt"]


def rows(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        item = resource_item(i)
        yield {**item, "tags": {f"k{j}": f"value-{i}-{j}" for j in range(4)}}


def test_the_workbook_has_a_bold_frozen_filtered_header_and_tags_as_pairs(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    row = {"name": "web", "tags": {"team": "a", "env": "prod"}, "state": "=cmd|' /C calc'!A0", "region": "bad\x07char"}
    assert write_xlsx([row], ["name", "tags", "state", "region"], path) == 1
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["Name", "Tags", "State", "Region"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D2"
    assert sheet.column_dimensions["B"].width >= 40
    assert [c.value for c in sheet[2]] == ["web", "env=prod; team=a", "=cmd|' /C calc'!A0", "badchar"]
    assert sheet["C2"].data_type == "s"  # a formula-looking tag stays text


def _peak_bytes(n: int, path: Path) -> int:
    tracemalloc.start()
    try:
        write_xlsx(rows(n), COLUMNS, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_writing_streams_rows_with_flat_memory(tmp_path: Path) -> None:
    small = _peak_bytes(250, tmp_path / "small.xlsx")
    large = _peak_bytes(2000, tmp_path / "large.xlsx")
    book = load_workbook(tmp_path / "large.xlsx", read_only=True)
    assert len(list(book.active.iter_rows())) == 2001  # type: ignore[union-attr]
    book.close()
    # 8x the rows must not cost 8x the memory: rows go to disk as they come
    assert large < small * 2 + 1_000_000, (small, large)


def test_an_export_is_stored_under_the_users_prefix_and_expires_in_an_hour() -> None:
    # GIVEN an inventory of two accounts
    items = [resource_item(n, account="111111111111" if n % 2 else "222222222222") for n in range(30)]
    query = InventoryQueryService(InMemoryInventoryReader.of(items, [Account("111111111111", "Prod", True)]))
    store = InMemoryExportStore()
    now = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
    audit_log = InMemoryAuditLog()
    service = ExportService(query, store, AuditService(audit_log), url_ttl_s=3600, clock=lambda: now)

    # WHEN alice exports one account
    result = service.export(
        Actor(Principal("alice", Role.viewer)),
        ExportRequest(filters=ExportFilters(accountId="111111111111"), columns=["name", "accountName"]),
    )

    # THEN the file is under exports/alice/{timestamp}/ and holds just that account's rows
    assert result.key == "exports/alice/20261125T100000123456Z/export.xlsx"
    assert result.expires_at == datetime(2026, 11, 25, 11, 0, 0, tzinfo=UTC)
    assert result.rows == 15
    sheet = load_workbook(io.BytesIO(store.objects[result.key])).active
    assert sheet is not None
    values = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert len(values) == 15 and {v[1] for v in values} == {"Prod"}
