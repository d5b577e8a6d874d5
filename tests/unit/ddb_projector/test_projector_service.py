from __future__ import annotations

from datetime import timedelta

import pytest
from ddb_projector.service import PagesPendingError, ProjectorService, UnexpectedEventError
from inventory_events import ScanRequested

from tests.builders import T0, later, page, resource, scope, scope_completed
from tests.fakes import InMemoryResourceStore


def make() -> tuple[ProjectorService, InMemoryResourceStore]:
    store = InMemoryResourceStore()
    return ProjectorService(store, retention=timedelta(days=30), clock=lambda: later(90)), store


def test_scope_completed_before_its_pages_is_retried() -> None:
    service, _ = make()
    with pytest.raises(PagesPendingError, match="0 of 2"):
        service.handle(scope_completed(scope(), pages=2))


def test_complete_scope_marks_unseen_resources_missing_with_ttl() -> None:
    service, store = make()
    service.handle(page([resource(1), resource(2)], execution_id="old", started=T0))
    newer = page([resource(1, at=later(60))], execution_id="new", started=later(59))
    service.handle(newer)
    service.handle(scope_completed(scope(), execution_id="new", pages=1, started=later(59)))
    gone = store.items[resource(2).resource_arn]
    assert gone["discoveryStatus"] == "missing"
    assert gone["ttl"] == int((later(90) + timedelta(days=30)).timestamp())
    assert store.items[resource(1).resource_arn]["discoveryStatus"] == "active"


def test_failed_scope_marks_nothing() -> None:
    service, store = make()
    service.handle(page([resource(1)], started=T0))
    service.handle(scope_completed(scope(), execution_id="new", pages=0, started=later(59), status="failed"))
    assert store.items[resource(1).resource_arn]["discoveryStatus"] == "active"


def test_scan_requested_is_not_for_the_projector() -> None:
    service, _ = make()
    with pytest.raises(UnexpectedEventError):
        service.handle(ScanRequested(execution_id="x"))
