"""The grid's read model: an in-process snapshot of the inventory, indexed for filter/sort/page.

Why: the grid needs totals, arbitrary sort orders and substring search over every resource; DynamoDB
serves none of these without reading every item, and reading 100,000 items costs seconds (minutes on
the emulator). So the service reads the inventory once into a compact snapshot and answers every
request from memory; the snapshot is fresh for ``ttl_s`` and then served stale for up to ``stale_s``
while one background refresh replaces it. Sorted orders and filtered result lists are cached per
snapshot, so paging through one result costs a slice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from inventory_api.ports import InventoryReader

logger = logging.getLogger(__name__)

FILTER_FIELDS = ("accountId", "resourceType", "region", "discoveryStatus")
_RESULT_CACHE_SIZE = 64


@dataclass(frozen=True)
class ResultKey:
    account_ids: tuple[str, ...]
    resource_types: tuple[str, ...]
    regions: tuple[str, ...]
    statuses: tuple[str, ...]
    search: str
    sort_by: str
    sort_order: str


def slim_row(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceId": str(item.get("resourceId", "")),
        "resourceArn": str(item["resourceArn"]),
        "resourceType": str(item.get("resourceType", "")),
        "accountId": str(item.get("accountId", "")),
        "name": str(item.get("name") or ""),
        "region": str(item.get("region", "")),
        "state": str(item.get("state") or ""),
        "tags": {str(k): str(v) for k, v in (item.get("tags") or {}).items()},
        "lastDiscoveredAt": str(item.get("lastDiscoveredAt") or ""),
        "firstDiscoveredAt": str(item.get("firstDiscoveredAt") or ""),
        "discoveryStatus": str(item.get("discoveryStatus") or "active"),
    }


@dataclass
class Snapshot:
    rows: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    loaded_at: float
    _orders: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _results: OrderedDict[ResultKey, list[int]] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.by_arn = {row["resourceArn"]: i for i, row in enumerate(self.rows)}
        self.haystacks = ["\x00".join((r["name"], r["resourceId"], r["resourceArn"])).lower() for r in self.rows]
        self.resource_types = sorted({r["resourceType"] for r in self.rows})
        self.regions = sorted({r["region"] for r in self.rows})
        self.account_names = {
            str(a.get("accountId") or str(a["pk"]).removeprefix("ACCOUNT#")): str(a.get("accountName") or "")
            for a in self.accounts
        }

    def _order(self, sort_by: str) -> list[int]:
        order = self._orders.get(sort_by)
        if order is None:
            rows = self.rows
            order = sorted(range(len(rows)), key=lambda i: (rows[i].get(sort_by, "").lower(), rows[i]["resourceArn"]))
            self._orders[sort_by] = order
        return order

    def matching(self, key: ResultKey) -> list[int]:
        """Indexes of the rows that match, in the requested order (cached per snapshot)."""
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        order = self._order(key.sort_by)
        if key.sort_order == "desc":
            order = order[::-1]
        wanted = [
            (name, frozenset(values))
            for name, values in zip(
                FILTER_FIELDS, (key.account_ids, key.resource_types, key.regions, key.statuses), strict=True
            )
            if values
        ]
        rows, hay, needle = self.rows, self.haystacks, key.search
        if wanted or needle:
            order = [
                i
                for i in order
                if (not needle or needle in hay[i]) and all(rows[i][name] in values for name, values in wanted)
            ]
        with self._lock:
            self._results[key] = order
            if len(self._results) > _RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        return order

    def iter_rows(self, indexes: list[int]) -> Iterator[dict[str, Any]]:
        for i in indexes:
            yield self.rows[i]


class ReadModel:
    """Holds the current snapshot; reloads it synchronously when missing or too old, else in the background."""

    def __init__(
        self,
        reader: InventoryReader,
        *,
        ttl_s: float = 0.0,
        stale_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self._reader = reader
        self._ttl_s = ttl_s
        self._stale_s = stale_s
        self._clock = clock
        self._spawn = spawn or (lambda fn: threading.Thread(target=fn, name="read-model-refresh", daemon=True).start())
        self._snapshot: Snapshot | None = None
        self._load_lock = threading.Lock()
        self._flag_lock = threading.Lock()
        self._refreshing = False

    def _load(self) -> Snapshot:
        started = self._clock()
        rows = [slim_row(item) for item in self._reader.resources(None)]
        snapshot = Snapshot(rows=rows, accounts=self._reader.account_items(), loaded_at=self._clock())
        logger.info(
            "inventory snapshot loaded",
            extra={"resources": len(rows), "duration_ms": round((snapshot.loaded_at - started) * 1000)},
        )
        return snapshot

    def _refresh_in_background(self) -> None:
        with self._flag_lock:
            if self._refreshing:
                return
            self._refreshing = True

        def refresh() -> None:
            try:
                self._snapshot = self._load()
            except Exception:
                logger.exception("background snapshot refresh failed; serving the previous one")
            finally:
                self._refreshing = False

        self._spawn(refresh)

    def invalidate(self) -> None:
        self._snapshot = None

    def snapshot(self) -> Snapshot:
        current = self._snapshot
        if current is not None:
            age = self._clock() - current.loaded_at
            if age <= self._ttl_s:
                return current
            if age <= self._ttl_s + self._stale_s:
                self._refresh_in_background()
                return current
        with self._load_lock:
            current = self._snapshot
            if current is None or self._clock() - current.loaded_at > self._ttl_s + self._stale_s:
                current = self._snapshot = self._load()
            return current
