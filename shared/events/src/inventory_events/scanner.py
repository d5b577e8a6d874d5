"""Events the scanner emits, and the request that starts it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from inventory_events.models import (
    AccountStatus,
    EventEnvelope,
    Frozen,
    Resource,
    Scope,
    ScopeStatus,
    Trigger,
)


class Shard(Frozen):
    """Which part of a sharded execution a request is: its accounts are one shard of ``count``."""

    index: int = Field(ge=0)
    count: int = Field(ge=1)


class ScanRequested(EventEnvelope):
    """Emitted by the scheduler, the API or the CLI to ask the scanner for a scan."""

    event_type: Literal["ScanRequested"] = "ScanRequested"
    account_ids: list[str] | None = None
    trigger: Trigger = "cli"
    requested_by: str = "system"
    shard: Shard | None = None


class ResourcesDiscovered(EventEnvelope):
    """Emitted by the scanner for each page of resources found in one scope."""

    event_type: Literal["ResourcesDiscovered"] = "ResourcesDiscovered"
    scope: Scope
    page: int = Field(ge=1)
    scan_started_at: datetime
    resources: list[Resource]


class ScopeCompleted(EventEnvelope):
    """Emitted by the scanner once a scope is fully listed (complete) or given up on (failed)."""

    event_type: Literal["ScopeCompleted"] = "ScopeCompleted"
    scope: Scope
    status: ScopeStatus
    resource_count: int = Field(ge=0)
    page_count: int = Field(ge=0)
    scan_started_at: datetime
    error: str | None = None


class ScopeSummary(Frozen):
    """How one scope of an account scan ended."""

    scope: Scope
    status: ScopeStatus
    resource_count: int = Field(ge=0)
    page_count: int = Field(ge=0)


class AccountScanCompleted(EventEnvelope):
    """Emitted by the scanner when every scope of one account has ended."""

    event_type: Literal["AccountScanCompleted"] = "AccountScanCompleted"
    account_id: str = Field(pattern=r"^\d{12}$")
    status: AccountStatus
    resource_count: int = Field(ge=0)
    duration_ms: int = Field(ge=0)
    scan_started_at: datetime
    scopes: list[ScopeSummary] = Field(default_factory=list)
    failed_scopes: list[Scope] = Field(default_factory=list)
    error: str | None = None


class AccountSummary(Frozen):
    """How one account of a scan ended."""

    account_id: str
    status: AccountStatus
    resource_count: int = Field(ge=0)


class SkippedAccount(Frozen):
    """An account a scan did not touch, and why (another scan of it was still running)."""

    account_id: str
    reason: str
    holder_execution_id: str | None = None


class ScanCompleted(EventEnvelope):
    """Emitted by the scanner when every account of an execution has ended."""

    event_type: Literal["ScanCompleted"] = "ScanCompleted"
    scan_started_at: datetime
    duration_ms: int = Field(ge=0)
    accounts: list[AccountSummary]
    skipped: list[SkippedAccount] = Field(default_factory=list)
