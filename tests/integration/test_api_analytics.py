"""GET /api/inventory/analytics/summary: DuckDB over the real Iceberg tables, behind the API's auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings

from tests.builders import later, page, resource, scope, scope_completed, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


@pytest.fixture
def client(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str]]:
    monkeypatch.setenv("AUTH_LOCAL_KEY_FILE", str(tmp_path / "auth.key"))
    deps.reset()
    secret = load_or_create_local_key(tmp_path / "auth.key")
    yield TestClient(create_app(), raise_server_exceptions=False), mint_local_token(secret, "vera", "viewer")
    deps.reset()


def test_summary_of_an_empty_lake_is_all_zero(client: tuple[TestClient, str]) -> None:
    http, token = client
    body = http.get("/api/inventory/analytics/summary", headers={"Authorization": f"Bearer {token}"}).json()
    assert body == {
        "total": 0,
        "byType": {},
        "byRegion": {},
        "byAccount": {},
        "byStatus": {},
        "changesSincePreviousScan": None,
    }


def test_summary_counts_and_changes_after_two_scans(client: tuple[TestClient, str]) -> None:
    # GIVEN two scans: resource 2 disappears, resource 1 stops, resource 3 appears
    http, token = client
    writer = build_service(LakeWriterSettings())
    handle_batch(sqs_event(page([resource(1), resource(2)], execution_id="s1")), None, writer)
    second = page(
        [resource(1, at=later(60), state="stopped"), resource(3, at=later(60))], execution_id="s2", started=later(59)
    )
    done = scope_completed(scope(), execution_id="s2", pages=1, count=2, started=later(59))
    handle_batch(sqs_event(second, done), None, writer)
    # WHEN a viewer asks for the summary
    response = http.get("/api/inventory/analytics/summary", headers={"Authorization": f"Bearer {token}"})
    # THEN
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["byStatus"], body["byType"]) == (3, {"active": 2, "missing": 1}, {"ec2": 3})
    assert body["changesSincePreviousScan"] == {
        "currentExecutionId": "s2",
        "previousExecutionId": "s1",
        "appeared": 1,
        "disappeared": 1,
        "changed": 1,
    }
    assert http.get("/api/inventory/analytics/summary").status_code == 401
