"""In-memory implementations of the query service's ports, with inspectable state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory_api.ports import StoreError
from inventory_api.readmodel import UNCHANGED, StoredSnapshot
from inventory_core.grid_arrow import encode_table, table_from_rows
from inventory_core.items import (
    SCAN_STATUS_SK,
    Account,
    ResourceItem,
    ScanAccountItem,
    account_id_of_item,
    scan_account_key,
    scan_pk,
)
from inventory_events import ScanRequested


@dataclass
class InMemoryInventoryReader:
    items: list[dict[str, Any]]
    accounts: list[dict[str, Any]] = field(default_factory=list)
    loads: int = 0
    fail: bool = False

    @classmethod
    def of(cls, items: list[dict[str, Any]], accounts: Sequence[Account]) -> InMemoryInventoryReader:
        return cls(items, [a.to_item() for a in accounts])

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        if self.fail:
            raise StoreError("table unavailable")
        self.loads += 1
        registered = {a["accountId"] for a in self.accounts}
        wanted = {account_id} if account_id else registered
        return [dict(i) for i in self.items if i["accountId"] in wanted]

    def resource(self, account_id: str, resource_type: str, resource_arn: str) -> dict[str, Any] | None:
        return next(
            (
                dict(i)
                for i in self.items
                if (i["accountId"], i["resourceType"], i["resourceArn"]) == (account_id, resource_type, resource_arn)
            ),
            None,
        )

    def account_items(self) -> list[dict[str, Any]]:
        return [dict(a) for a in self.accounts]

    def accounts_by_id(self, account_ids: Any) -> list[dict[str, Any]]:
        wanted = set(account_ids)
        return [dict(a) for a in self.accounts if account_id_of_item(a) in wanted]


@dataclass
class InMemoryScanStore:
    locks: dict[str, dict[str, Any]] = field(default_factory=dict)
    scanner_locks: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def acquire_sync_lock(self, account_id: str, execution_id: str, expires_at: int, now: int) -> str | None:
        held = self.locks.get(account_id)
        if held is None or held["expiresAt"] < now:
            self.locks[account_id] = {"executionId": execution_id, "expiresAt": expires_at}
            return None
        return str(held["executionId"])

    def release_sync_lock(self, account_id: str, execution_id: str) -> None:
        if self.locks.get(account_id, {}).get("executionId") == execution_id:
            del self.locks[account_id]

    def steal_sync_lock(self, account_id: str, stale_execution_id: str, execution_id: str, expires_at: int) -> bool:
        held = self.locks.get(account_id)
        if held is not None and held["executionId"] != stale_execution_id:
            return False
        self.locks[account_id] = {"executionId": execution_id, "expiresAt": expires_at}
        return True

    def scanner_lock(self, account_id: str, now: int) -> str | None:
        held = self.scanner_locks.get(account_id)
        return str(held["executionId"]) if held and held["expiresAt"] >= now else None

    def execution_items(self, execution_id: str) -> list[dict[str, Any]]:
        return [{"pk": scan_pk(execution_id), "sk": sk, **v} for sk, v in self.executions.get(execution_id, {}).items()]

    def start_execution(self, execution_id: str, item: Mapping[str, Any]) -> None:
        status = self.executions.setdefault(execution_id, {}).setdefault(SCAN_STATUS_SK, {})
        for key, value in item.items():
            status.setdefault(key, value)

    def fail_execution(self, execution_id: str, reason: str, at: str) -> None:
        self.executions.setdefault(execution_id, {}).setdefault(SCAN_STATUS_SK, {}).update(
            status="failed", completedAt=at, error=reason
        )

    def complete_account(self, execution_id: str, account_id: str, status: str = "success", count: int = 3) -> None:
        """What the projector writes on AccountScanCompleted."""
        progress = ScanAccountItem(
            execution_id,
            account_id,
            status=status,
            resource_count=count,
            duration_ms=1200,
            completed_at="2026-11-25T02:10:00.000000Z",
        ).to_item()
        self.executions.setdefault(execution_id, {})[scan_account_key(execution_id, account_id)["sk"]] = {
            k: v for k, v in progress.items() if k not in ("pk", "sk")
        }


@dataclass
class InMemoryScanRequestSender:
    sent: list[ScanRequested] = field(default_factory=list)
    fail: bool = False

    def send(self, event: ScanRequested) -> None:
        if self.fail:
            raise StoreError("queue unavailable")
        self.sent.append(event)


@dataclass
class InMemoryExportStore:
    objects: dict[str, bytes] = field(default_factory=dict)

    def upload(self, path: Path, key: str) -> None:
        self.objects[key] = path.read_bytes()

    def download_url(self, key: str, expires_in_s: int, filename: str) -> str:
        return f"memory://exports/{key}?expires={expires_in_s}&filename={filename}"

    def exists(self, key: str) -> bool:
        return key in self.objects


@dataclass
class InMemoryAuditLog:
    records: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def record(self, entry: Mapping[str, Any]) -> None:
        if self.fail:
            raise StoreError("audit table unavailable")
        self.records.append(dict(entry))

    def read(self, day: str, limit: int, actions: Sequence[str] = ()) -> list[dict[str, Any]]:
        found = [r for r in self.records if str(r["time"]).startswith(day) and (not actions or r["action"] in actions)]
        return sorted(found, key=lambda r: str(r["time"]), reverse=True)[:limit]


def resource_item(
    n: int,
    *,
    account: str = "111111111111",
    rtype: str = "ec2",
    region: str = "us-east-1",
    status: str = "active",
    name: str | None = None,
) -> dict[str, Any]:
    """A resource item exactly as the projector stores it (keys and GSI attributes included)."""
    arn = f"arn:aws:{rtype}:{region}:{account}:thing/id-{n:06d}"
    name = name if name is not None else f"name-{n:06d}"
    seen = f"2026-11-{1 + n % 28:02d}T02:00:00.000000Z"
    return ResourceItem(
        account_id=account,
        resource_type=rtype,
        resource_arn=arn,
        resource_id=f"id-{n:06d}",
        region=region,
        name=name,
        state="running" if n % 3 else "stopped",
        last_discovered_at=seen,
        first_discovered_at="2026-10-01T02:00:00.000000Z",
        tags={"team": f"t{n % 4}", "env": "prod"},
        metadata={"InstanceType": "t3.micro", "Count": 2},
        discovery_status=status,
    ).to_item()


@dataclass
class InMemorySnapshotSource:
    """The published grid snapshot (inventory_core.grid), replaced whole by ``publish``."""

    current: StoredSnapshot | None = None
    fetches: int = 0
    fail: bool = False

    def publish(self, rows: list[dict[str, str]], watermark: int) -> None:
        version = (self.current.etag if self.current else "v0") + "+"
        self.current = StoredSnapshot(data=encode_table(table_from_rows(rows)), watermark=watermark, etag=version)

    def latest(self, known_etag: str | None) -> Any:
        if self.fail:
            raise StoreError("bucket unavailable")
        self.fetches += 1
        if self.current is not None and self.current.etag == known_etag:
            return UNCHANGED
        return self.current


@dataclass
class InMemoryChangeJournal:
    """The projector's change journal: numbered entries; ``reserve`` makes a number that is written later."""

    written: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    last: int = 0
    reads: int = 0
    fail: bool = False

    def reserve(self) -> int:
        self.last += 1
        return self.last

    def fill(self, seq: int, *rows: dict[str, str]) -> None:
        self.written[seq] = [dict(r) for r in rows]

    def write(self, *rows: dict[str, str]) -> int:
        seq = self.reserve()
        self.fill(seq, *rows)
        return seq

    def head(self) -> int:
        if self.fail:
            raise StoreError("table unavailable")
        return self.last

    def entries(self, seqs: Any) -> dict[int, list[dict[str, str]]]:
        if self.fail:
            raise StoreError("table unavailable")
        self.reads += 1
        return {seq: list(self.written[seq]) for seq in seqs if seq in self.written}
