"""Ports of the scanner: what the service needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from inventory_core.items import Account
from inventory_core.publisher import EventPublisher

from scanner.catalog import ResourceSpec


class AssumeRoleError(RuntimeError):
    """The scanner could not get credentials for a target account."""


class AccountDirectory(Protocol):
    """Where the target accounts are registered."""

    def enabled_accounts(self, account_ids: Sequence[str] | None) -> list[Account]:
        """Accounts with syncEnabled; only those in ``account_ids`` when given. Unknown ids are ignored."""


class AccountSession(Protocol):
    """Read access to one target account (credentials already obtained)."""

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        """Yield the raw API items of ``spec`` in ``region``, one list per API page, enriched for the normalizer."""


class SessionProvider(Protocol):
    """Opens sessions into target accounts."""

    def open(self, account: Account, execution_id: str) -> AccountSession:
        """Assume the account's role. Raises AssumeRoleError."""


__all__ = ["AccountDirectory", "AccountSession", "AssumeRoleError", "EventPublisher", "SessionProvider"]
