"""Ports of the lake writer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from inventory_events import Resource, Scope


class CommitConflictError(RuntimeError):
    """Another writer committed first; refresh and try again."""


@dataclass(frozen=True)
class KnownRow:
    """What the lake already holds for a resource, to keep newest-wins and first_discovered_at."""

    first_discovered_at: datetime | None
    last_discovered_at: datetime | None


@dataclass(frozen=True)
class AppliedPage:
    """One page of one execution's scope, in the lake."""

    execution_id: str
    scope: Scope
    page: int


@dataclass(frozen=True)
class ParkedCompletion:
    """A complete ScopeCompleted recorded in the lake to wait there for its pages (not in the queue)."""

    execution_id: str
    scope: Scope
    page_count: int
    scan_started_at: datetime


@dataclass(frozen=True)
class ScopeProgress:
    """What the lake holds for one execution's scope: its applied pages, its parked completion, its sweep."""

    pages: int = 0
    completion: ParkedCompletion | None = None
    swept: bool = False


class LakeStore(Protocol):
    """The Iceberg tables as the lake writer sees them. Writes raise CommitConflictError on a lost race."""

    def known(self, resources: Sequence[Resource]) -> dict[str, KnownRow]:
        """Current rows of ``resources`` for these resources' ARNs, read from the latest snapshot."""

    def write(self, resource_rows: list[dict[str, Any]], history_rows: list[dict[str, Any]]) -> None:
        """Replace these ARNs' rows in ``resources`` and these (execution, ARN) rows in ``resource_history``.

        One commit per table.
        """

    def record_pages(self, pages: Sequence[AppliedPage], parked: Sequence[ParkedCompletion] = ()) -> None:
        """Remember that these pages are applied and these completions wait (one commit; twice is harmless)."""

    def progress(self, scopes: Sequence[tuple[str, Scope]]) -> dict[tuple[str, str], ScopeProgress]:
        """(execution id, scope key) -> its applied pages, parked completion and sweep (absent: nothing yet)."""

    def mark_missing(self, sweeps: Sequence[tuple[Scope, datetime]]) -> int:
        """For each (scope, scan start): its rows last seen before the start are missing since that start.

        missing_since is the start of the earliest complete scan that did not find the row (an older sweep
        processed late moves it back), never the time of the sweep: the same events give the same value in
        any order, as in the projector. One commit for all; returns how many rows changed.
        """

    def record_sweeps(self, sweeps: Sequence[tuple[str, Scope, datetime]]) -> None:
        """Remember that complete scans (execution id, scope, scan start) swept these scopes (one commit)."""

    def sweep_starts(self, scopes: Sequence[Scope]) -> dict[str, list[datetime]]:
        """Scope key -> starts of the complete scans that swept it (scopes never swept are absent)."""
