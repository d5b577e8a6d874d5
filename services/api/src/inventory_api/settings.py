from __future__ import annotations

from inventory_core.settings import TableSettings


class ApiSettings(TableSettings):
    """Query service configuration, read from the environment."""
