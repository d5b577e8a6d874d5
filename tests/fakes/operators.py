"""In-memory implementations of the operators' ports (accounts, access check, scan history)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inventory_api.schemas import RegionCheck
from inventory_core.items import ALL_ACCOUNTS_GSI1PK, ALL_SCANS_GSI1PK, SCAN_STATUS_SK, account_id_of, scan_pk


@dataclass
class InMemoryAccountStore:
    """Account items by account id, plus any other items of the table (for the unindexed scan)."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, account_id: str) -> dict[str, Any] | None:
        item = self.items.get(account_id)
        return dict(item) if item else None

    def create(self, item: Mapping[str, Any]) -> bool:
        account_id = account_id_of(str(item["pk"]))
        if account_id in self.items:
            return False
        self.items[account_id] = dict(item)
        return True

    def update(self, account_id: str, sets: Mapping[str, Any], removes: Sequence[str]) -> dict[str, Any] | None:
        item = self.items.get(account_id)
        if item is None:
            return None
        for name in removes:
            if name not in sets:
                item.pop(name, None)
        item.update(sets)
        return dict(item)

    def delete(self, account_id: str) -> dict[str, Any] | None:
        return self.items.pop(account_id, None)

    def unindexed(self) -> list[dict[str, Any]]:
        return [dict(i) for i in self.items.values() if "gsi1pk" not in i]

    # the reader's view: only what GSI1 lists
    def account_items(self) -> list[dict[str, Any]]:
        return [dict(i) for i in self.items.values() if i.get("gsi1pk") == ALL_ACCOUNTS_GSI1PK]

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        return []

    def resource(self, account_id: str, resource_type: str, resource_arn: str) -> dict[str, Any] | None:
        return None


@dataclass
class InMemoryAccessChecker:
    """Answers each region with a fixed status (default ok); records what it was asked."""

    statuses: dict[str, RegionCheck] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None, tuple[str, ...]]] = field(default_factory=list)

    def check(
        self, account_id: str, role_arn: str, external_id: str | None, regions: Sequence[str]
    ) -> list[RegionCheck]:
        self.calls.append((account_id, role_arn, external_id, tuple(regions)))
        return [self.statuses.get(r) or RegionCheck(region=r, status="ok") for r in regions]


@dataclass
class InMemoryScanHistory:
    items: list[dict[str, Any]] = field(default_factory=list)

    def page(self, limit: int, start: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        listed = sorted(
            (i for i in self.items if i.get("sk") == SCAN_STATUS_SK and i.get("gsi1pk") == ALL_SCANS_GSI1PK),
            key=lambda i: str(i["gsi1sk"]),
            reverse=True,
        )
        if start:
            listed = [i for i in listed if str(i["gsi1sk"]) < str(start["gsi1sk"])]
        chunk = listed[:limit]
        last = chunk[-1] if len(listed) > limit else None
        key = {k: str(last[k]) for k in ("pk", "sk", "gsi1pk", "gsi1sk")} if last else None
        return chunk, key

    def execution_items(self, execution_id: str) -> list[dict[str, Any]]:
        return [i for i in self.items if i["pk"] == scan_pk(execution_id)]
