from __future__ import annotations

import json

import pytest
from inventory_events import (
    EVENT_TYPES,
    AccountScanCompleted,
    ResourcesDiscovered,
    ScanRequested,
    parse_event,
)
from pydantic import ValidationError

from tests.builders import T0, page, resource, scope


def test_every_event_round_trips_through_its_wire_form() -> None:
    events = [
        ScanRequested(execution_id="e", account_ids=["111111111111"], trigger="api", requested_by="alice"),
        page([resource(1), resource(2)]),
        AccountScanCompleted(
            execution_id="e",
            account_id="111111111111",
            status="partial",
            resource_count=2,
            duration_ms=5,
            scan_started_at=T0,
            failed_scopes=[scope(region="eu-west-1")],
        ),
    ]
    for event in events:
        assert parse_event(event.model_dump_json()) == event


def test_the_tag_picks_the_model() -> None:
    event = parse_event(page([resource(1)]).model_dump_json())
    assert isinstance(event, ResourcesDiscovered)
    assert event.resources[0].resource_id == "i-00000000000000001"


def test_unknown_event_type_is_rejected() -> None:
    body = json.loads(ScanRequested(execution_id="e").model_dump_json())
    body["event_type"] = "ResourcesDeleted"
    with pytest.raises(ValidationError, match="ResourcesDeleted"):
        parse_event(json.dumps(body))


def test_unknown_major_version_is_rejected_and_minor_accepted() -> None:
    body = json.loads(ScanRequested(execution_id="e").model_dump_json())
    assert parse_event(json.dumps({**body, "event_version": "1.7"})).event_version == "1.7"
    with pytest.raises(ValidationError, match="major"):
        parse_event(json.dumps({**body, "event_version": "2.0"}))


def test_unknown_fields_are_ignored_when_reading() -> None:
    body = json.loads(ScanRequested(execution_id="e").model_dump_json())
    assert parse_event(json.dumps({**body, "added_in_1_1": True})).execution_id == "e"


def test_events_are_immutable() -> None:
    event = ScanRequested(execution_id="e")
    with pytest.raises(ValidationError):
        event.execution_id = "other"  # type: ignore[misc]


def test_account_ids_must_be_twelve_digits() -> None:
    with pytest.raises(ValidationError):
        scope(account_id="12345")


def test_the_union_covers_the_five_event_types() -> None:
    assert set(EVENT_TYPES) == {
        "ScanRequested",
        "ResourcesDiscovered",
        "ScopeCompleted",
        "AccountScanCompleted",
        "ScanCompleted",
    }
