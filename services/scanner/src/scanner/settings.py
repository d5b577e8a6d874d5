from __future__ import annotations

from inventory_core.settings import RegionSettings, TableSettings, TopicSettings
from pydantic import Field


class ScannerSettings(TableSettings, TopicSettings, RegionSettings):
    """Scanner configuration, read from the environment."""

    scan_requests_queue_url: str | None = Field(default=None, description="Queue the worker polls for ScanRequested.")
    role_name: str = Field(default="NucleusAccess-Inventory", description="Role assumed in each target account.")
    max_workers: int = Field(default=8, ge=1, le=64, description="Concurrent (account, region, type) scopes.")
    max_accounts: int = Field(default=4, ge=1, le=64, description="Accounts scanned at the same time.")
    page_max_bytes: int = Field(default=200_000, ge=10_000, le=240_000, description="Max JSON bytes of one page.")
    page_max_items: int = Field(default=500, ge=1, description="Max resources in one page.")
