"""The committed JSON Schema is the contract; producers' events must parse for every consumer."""

from __future__ import annotations

from pathlib import Path

from inventory_core.topology import RESOURCE_CONSUMER_EVENTS
from inventory_events import (
    EVENT_TYPES,
    AccountScanCompleted,
    AccountSummary,
    ScanCompleted,
    ScanRequested,
    ScopeSummary,
    event_json_schema,
    event_json_schema_text,
    parse_event,
)

from tests.builders import T0, page, resource, scope, scope_completed

SCHEMA = Path(__file__).parents[2] / "shared" / "events" / "schemas" / "inventory_event.schema.json"


def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA.read_text() == event_json_schema_text(), "event models changed: run `make schemas` and commit"


def test_schema_names_all_five_event_types() -> None:
    mapping = event_json_schema()["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_TYPES)


def test_every_consumer_parses_every_event_it_subscribes_to() -> None:
    samples = {
        "ScanRequested": ScanRequested(execution_id="e", trigger="api", requested_by="alice"),
        "ResourcesDiscovered": page([resource(1)]),
        "ScopeCompleted": scope_completed(scope()),
        "AccountScanCompleted": AccountScanCompleted(
            execution_id="e",
            account_id="111111111111",
            status="success",
            resource_count=1,
            duration_ms=1,
            scan_started_at=T0,
            scopes=[ScopeSummary(scope=scope(), status="complete", resource_count=1, page_count=1)],
        ),
        "ScanCompleted": ScanCompleted(
            execution_id="e",
            scan_started_at=T0,
            duration_ms=1,
            accounts=[AccountSummary(account_id="111111111111", status="success", resource_count=1)],
        ),
    }
    assert set(samples) == set(EVENT_TYPES)
    for consumer, types in RESOURCE_CONSUMER_EVENTS.items():
        for event_type in types:
            event = samples[event_type]
            assert parse_event(event.model_dump_json()) == event, (consumer, event_type)
