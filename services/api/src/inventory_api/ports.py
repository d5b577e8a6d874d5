"""Ports of the query service."""

from __future__ import annotations

from typing import Any, Protocol

from inventory_core.items import Account


class InventoryReader(Protocol):
    """Read side of the single table."""

    def resources(self, account_id: str | None) -> list[dict[str, Any]]:
        """Resource items (all, or of one account), as stored."""

    def accounts(self) -> list[Account]:
        """Every registered account."""
