"""The resource-history service's paging over an in-memory port (the adapter is tested on moto)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import HTTPException
from inventory_api.routes.resource_history import ResourceHistoryService

T = datetime(2026, 11, 1, 2, 0)


class Rows:
    def __init__(self, n: int) -> None:
        self.data = [
            {"execution_id": f"e{i}", "discovered_at": T + timedelta(hours=i), "k": T + timedelta(hours=i)}
            | {"state": "running", "name": "web", "region": "us-east-1", "resource_type": "ec2"}
            for i in range(n)
        ]

    def rows(self, arn: str, limit: int, after: tuple[datetime, str] | None) -> list[dict[str, Any]]:
        newest = sorted(self.data, key=lambda r: (r["k"], r["execution_id"]), reverse=True)
        if after:
            newest = [r for r in newest if (r["k"], r["execution_id"]) < after]
        return newest[:limit]


def test_pages_walk_every_row_once_newest_first() -> None:
    service, seen, token = ResourceHistoryService(Rows(7)), [], None
    for _ in range(5):
        page = service.page("arn:aws:ec2:r:1:instance/i", 3, token)
        seen += [i.executionId for i in page.items]
        token = page.nextToken
        if token is None:
            break
    assert seen == [f"e{i}" for i in range(6, -1, -1)]
    assert service.page("arn:x", 3, None).items[0].discoveredAt == "2026-11-01T08:00:00.000000Z"


def test_without_a_lake_the_answer_says_so_and_a_forged_token_is_refused() -> None:
    assert ResourceHistoryService(None).page("arn:x", 20, None).available is False
    with pytest.raises(HTTPException) as refused:
        ResourceHistoryService(Rows(1)).page("arn:x", 20, "eyJ0IjogMX0")
    assert refused.value.status_code == 422
