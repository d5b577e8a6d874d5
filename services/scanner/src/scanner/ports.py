"""Ports of the scanner: what the service needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from inventory_core.items import Account
from inventory_core.publisher import EventPublisher
from inventory_events import AccountSummary, ScanRequested, Shard, SkippedAccount

from scanner.catalog import ResourceSpec


class AssumeRoleError(RuntimeError):
    """The scanner could not get credentials for a target account."""


class ClaimCheckError(RuntimeError):
    """A raw item too large for a message could not be stored aside."""


class AccountDirectory(Protocol):
    """Where the target accounts are registered."""

    def enabled_accounts(self, account_ids: Sequence[str] | None) -> list[Account]:
        """Accounts with syncEnabled; only those in ``account_ids`` when given. Unknown ids are ignored."""


class AccountSession(Protocol):
    """Read access to one target account (credentials already obtained)."""

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        """Yield the raw API items of ``spec`` in ``region``, one list per API page, enriched for the normalizer.

        Each list is the scanner's: it empties it as it goes (so a listed item is freed once it is published), so
        yield a list no one else reads.
        """

    def enabled_regions(self) -> list[str]:
        """Regions enabled in the account (used when the scan covers ``all`` regions)."""


@runtime_checkable
class TagSource(Protocol):
    """A session that can look tags up by ARN (the Resource Groups Tagging API, one pass per region)."""

    def resource_tags(self, region: str, services: Sequence[str] | None = None) -> Mapping[str, Mapping[str, str]]:
        """Tags by resource ARN in ``region`` (``global``: the home region), fetched once per session.

        ``services`` limits the pass to those ARN services (the Tagging API's ResourceTypeFilters); None: all.
        """


class SessionProvider(Protocol):
    """Opens sessions into target accounts."""

    def open(self, account: Account, execution_id: str) -> AccountSession:
        """Assume the account's role. Raises AssumeRoleError."""


@dataclass(frozen=True)
class CallStats:
    """API calls (HTTP attempts) and throttled answers seen so far."""

    api_calls: int = 0
    throttles: int = 0
    backoffs: int = 0

    def minus(self, other: CallStats) -> CallStats:
        """The difference since ``other`` (stats are cumulative per process)."""
        return CallStats(
            self.api_calls - other.api_calls, self.throttles - other.throttles, self.backoffs - other.backoffs
        )


class CallMeter(Protocol):
    """Counts the API calls the sessions make."""

    def snapshot(self) -> CallStats:
        """Cumulative counts so far."""


@dataclass(frozen=True)
class LockResult:
    """Outcome of taking an account's scan lock."""

    acquired: bool
    holder: str | None = None
    expires_at: int | None = None
    #: An expired lock taken over from this execution (it crashed or was killed).
    stale_holder: str | None = None
    #: When that execution took the lock (epoch seconds), i.e. about when its scan of the account started.
    stale_acquired_at: int | None = None


class ScanLock(Protocol):
    """Keeps two scans of one account from overlapping. The lock expires so a crashed scan does not block forever."""

    def acquire(self, account_id: str, execution_id: str, ttl_s: int) -> LockResult:
        """Take the lock unless another live execution holds it. Re-acquiring one's own lock succeeds."""

    def release(self, account_id: str, execution_id: str) -> None:
        """Drop the lock if ``execution_id`` still holds it (never someone else's)."""


class ScanLedger(Protocol):
    """The scan execution item (pk=SCAN#{executionId}, sk=STATUS)."""

    def started(self, request: ScanRequested, started_at: datetime, account_ids: Sequence[str]) -> None:
        """Record the start, without overwriting what its starter (the API) or the projector wrote."""


class ClaimStore(Protocol):
    """Stores a raw item too large for a message; the message carries its address instead."""

    def put(self, execution_id: str, raw: Mapping[str, Any]) -> str:
        """Store ``raw`` and return its address (``s3://bucket/key``). Raises ClaimCheckError."""


@dataclass(frozen=True)
class ScanMetricsRecord:
    """What a finished scan reports as metrics."""

    execution_id: str
    duration_ms: int
    accounts: int
    failed_accounts: int
    failed_scopes: int
    invalid_resources: int
    resources_by_type: Mapping[str, int]
    api_calls: int
    throttles: int


class ScanMetrics(Protocol):
    """Where scan metrics go (CloudWatch EMF in AWS)."""

    def record(self, record: ScanMetricsRecord) -> None:
        """Emit the metrics of one scan."""


@dataclass(frozen=True)
class ShardTotals:
    """Every shard of an execution has finished: what the one ScanCompleted reports."""

    accounts: list[AccountSummary]
    skipped: list[SkippedAccount]
    planned_at: datetime | None


class ShardCoordinator(Protocol):
    """Counts the finished shards of an execution (on its STATUS item), so exactly the last one reports."""

    def planned(self, execution_id: str, shard_count: int, at: datetime) -> None:
        """Record how many shards the execution was split into."""

    def shard_finished(
        self,
        execution_id: str,
        shard: Shard,
        accounts: Sequence[AccountSummary],
        skipped: Sequence[SkippedAccount],
    ) -> ShardTotals | None:
        """Record one shard (idempotent per shard index); return the totals when every shard has finished."""


class ShardLauncher(Protocol):
    """Starts one scan task per shard request (ECS RunTask in AWS, processes on a laptop)."""

    def launch(self, requests: Sequence[ScanRequested]) -> None:
        """Start the shards. Raises on a shard that could not be started (or, when it waits, that failed)."""


__all__ = [
    "AccountDirectory",
    "AccountSession",
    "AssumeRoleError",
    "CallMeter",
    "CallStats",
    "ClaimCheckError",
    "ClaimStore",
    "EventPublisher",
    "LockResult",
    "ScanLedger",
    "ScanLock",
    "ScanMetrics",
    "ScanMetricsRecord",
    "SessionProvider",
    "ShardCoordinator",
    "ShardLauncher",
    "ShardTotals",
    "TagSource",
]
