from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from inventory_core.items import Account
from inventory_events import AccountSummary, ScanRequested, Shard, SkippedAccount
from scanner.catalog import select_specs
from scanner.ports import ShardTotals
from scanner.service import ScanOptions, ScanService

from tests.builders import T0
from tests.fakes import (
    InMemoryAccountDirectory,
    InMemoryAccountSession,
    InMemoryEventPublisher,
    InMemorySessionProvider,
)

ACCOUNTS = [f"{i:012d}" for i in range(1, 6)]


@dataclass
class InMemoryShardCoordinator:
    count: dict[str, int] = field(default_factory=dict)
    parts: dict[str, dict[int, tuple[list[AccountSummary], list[SkippedAccount]]]] = field(default_factory=dict)

    def planned(self, execution_id: str, shard_count: int, at: datetime) -> None:
        self.count[execution_id] = shard_count

    def shard_finished(
        self,
        execution_id: str,
        shard: Shard,
        accounts: Sequence[AccountSummary],
        skipped: Sequence[SkippedAccount],
    ) -> ShardTotals | None:
        parts = self.parts.setdefault(execution_id, {})
        parts[shard.index] = (list(accounts), list(skipped))
        if len(parts) < self.count.get(execution_id, shard.count):
            return None
        return ShardTotals(
            [a for i in sorted(parts) for a in parts[i][0]], [s for i in sorted(parts) for s in parts[i][1]], T0
        )


@dataclass
class InProcessLauncher:
    """Runs each shard request through the service, as a shard task would."""

    service: ScanService | None = None
    launched: list[ScanRequested] = field(default_factory=list)

    def launch(self, requests: Sequence[ScanRequested]) -> None:
        self.launched += requests
        assert self.service
        for request in requests:
            self.service.scan(request)


def build(publisher: InMemoryEventPublisher, launcher: InProcessLauncher, shard_size: int) -> ScanService:
    sessions = {a: InMemoryAccountSession({("ec2", "us-east-1"): [{"InstanceId": f"i-{a}"}]}) for a in ACCOUNTS}
    service = ScanService(
        InMemoryAccountDirectory([Account(a, a, True) for a in ACCOUNTS]),
        InMemorySessionProvider(sessions),
        publisher,
        ScanOptions(regions=["us-east-1"], specs=select_specs(["ec2"]), shard_size=shard_size),
        clock=lambda: T0,
        coordinator=InMemoryShardCoordinator(),
        launcher=launcher,
    )
    launcher.service = service
    return service


def test_a_large_request_fans_out_into_shards_and_ends_in_one_scan_completed() -> None:
    publisher, launcher = InMemoryEventPublisher(), InProcessLauncher()
    # WHEN a request for five accounts meets a shard size of two
    assert build(publisher, launcher, shard_size=2).handle(ScanRequested(execution_id="big")) is None
    # THEN three shard tasks ran the accounts once each, and exactly one ScanCompleted covers them all
    assert [r.account_ids for r in launcher.launched] == [ACCOUNTS[0:2], ACCOUNTS[2:4], ACCOUNTS[4:]]
    assert {(r.shard.index, r.shard.count) for r in launcher.launched if r.shard} == {(0, 3), (1, 3), (2, 3)}
    assert all(r.execution_id == "big" for r in launcher.launched)
    (completed,) = publisher.of_type("ScanCompleted")
    assert sorted(a.account_id for a in completed.accounts) == ACCOUNTS
    assert len(publisher.of_type("AccountScanCompleted")) == 5


def test_a_request_within_one_shard_is_scanned_in_place() -> None:
    publisher, launcher = InMemoryEventPublisher(), InProcessLauncher()
    result = build(publisher, launcher, shard_size=5).handle(ScanRequested(execution_id="small"))
    assert launcher.launched == []
    assert result is not None and len(result.accounts) == 5
    assert publisher.of_type("ScanCompleted") == [result]
