"""The event contract of AWS Auto-Discovery: a tagged union of frozen pydantic models."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from inventory_events.models import (
    EVENT_MAJOR_VERSION,
    EVENT_VERSION,
    GLOBAL_REGION,
    AccountStatus,
    EventEnvelope,
    Resource,
    Scope,
    ScopeStatus,
    Trigger,
    UnsupportedEventVersionError,
    utc_now,
)
from inventory_events.scanner import (
    AccountScanCompleted,
    AccountSummary,
    ResourcesDiscovered,
    ScanCompleted,
    ScanRequested,
    ScopeCompleted,
    ScopeSummary,
    Shard,
    SkippedAccount,
)

InventoryEvent = Annotated[
    ScanRequested | ResourcesDiscovered | ScopeCompleted | AccountScanCompleted | ScanCompleted,
    Field(discriminator="event_type"),
]
"""Any event of the contract, told apart by ``event_type``."""

EVENT_ADAPTER: TypeAdapter[InventoryEvent] = TypeAdapter(InventoryEvent)

EVENT_TYPES: tuple[str, ...] = (
    "ScanRequested",
    "ResourcesDiscovered",
    "ScopeCompleted",
    "AccountScanCompleted",
    "ScanCompleted",
)


def parse_event(body: str | bytes) -> InventoryEvent:
    """Parse one JSON message body into its event model.

    Args:
        body: The JSON text of one event.

    Returns:
        The event, as the model its ``event_type`` names.

    Raises:
        pydantic.ValidationError: The body is not a valid event (unknown type, missing field, unknown major version).
    """
    return EVENT_ADAPTER.validate_json(body)


def event_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the whole union, as committed under ``schemas/``."""
    return EVENT_ADAPTER.json_schema(mode="serialization")


def event_json_schema_text() -> str:
    """Return the committed text form of :func:`event_json_schema`."""
    return json.dumps(event_json_schema(), indent=2, sort_keys=True) + "\n"


__all__ = [
    "EVENT_ADAPTER",
    "EVENT_MAJOR_VERSION",
    "EVENT_TYPES",
    "EVENT_VERSION",
    "GLOBAL_REGION",
    "AccountScanCompleted",
    "AccountStatus",
    "AccountSummary",
    "EventEnvelope",
    "InventoryEvent",
    "Resource",
    "ResourcesDiscovered",
    "ScanCompleted",
    "ScanRequested",
    "Scope",
    "ScopeCompleted",
    "ScopeStatus",
    "ScopeSummary",
    "Shard",
    "SkippedAccount",
    "Trigger",
    "UnsupportedEventVersionError",
    "event_json_schema",
    "event_json_schema_text",
    "parse_event",
    "utc_now",
]

AnyEvent = ScanRequested | ResourcesDiscovered | ScopeCompleted | AccountScanCompleted | ScanCompleted
"""The plain union of every event model, for type hints."""
__all__ += ["AnyEvent"]
