"""Ports of the lake writer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class CommitConflictError(RuntimeError):
    """Another writer committed first; refresh and try again."""


@dataclass(frozen=True)
class KnownRow:
    """What the lake already holds for a resource, to keep newest-wins and first_discovered_at."""

    first_discovered_at: datetime | None
    last_discovered_at: datetime | None


class LakeStore(Protocol):
    """The Iceberg tables as the lake writer sees them."""

    def known(self, arns: Sequence[str]) -> dict[str, KnownRow]:
        """Current rows of ``resources`` for these ARNs, read from the latest snapshot."""

    def write(self, resource_rows: list[dict[str, Any]], history_rows: list[dict[str, Any]]) -> None:
        """Replace these ARNs' rows in ``resources`` and these (execution, ARN) rows in ``resource_history``.

        One commit per table. Raises CommitConflictError if another writer got there first.
        """
