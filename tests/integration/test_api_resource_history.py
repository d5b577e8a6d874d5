"""GET /api/inventory/resource-history/{arn}: the lake's resource_history rows (real Iceberg on moto S3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings

from tests.builders import later, page, resource, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator


@pytest.fixture
def client(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    monkeypatch.setenv("AUTH_LOCAL_KEY_FILE", str(tmp_path / "auth.key"))
    deps.reset()
    secret = load_or_create_local_key(tmp_path / "auth.key")
    auth = {"Authorization": f"Bearer {mint_local_token(secret, 'vera', 'viewer')}"}
    yield TestClient(create_app(), raise_server_exceptions=False), auth
    deps.reset()


def url(arn: str, **query: object) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/api/inventory/resource-history/{quote(arn, safe='')}" + (f"?{params}" if params else "")


def test_history_pages_newest_first_through_every_scan(client: tuple[TestClient, dict[str, str]]) -> None:
    # GIVEN three scans that saw resource 1 (running, stopped, running) and one that saw only resource 2
    http, auth = client
    writer = build_service(LakeWriterSettings())
    states = ["running", "stopped", "running"]
    for n, state in enumerate(states):
        handle_batch(sqs_event(page([resource(1, at=later(60 * n), state=state)], execution_id=f"s{n}")), None, writer)
    handle_batch(sqs_event(page([resource(2, at=later(500))], execution_id="other")), None, writer)
    arn = resource(1).resource_arn

    # WHEN a viewer reads two entries at a time
    first = http.get(url(arn, limit=2), headers=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    # THEN the newest two, then the oldest with no further page
    assert body["available"] is True and body["resourceArn"] == arn
    assert [(i["executionId"], i["state"]) for i in body["items"]] == [("s2", "running"), ("s1", "stopped")]
    assert body["items"][0]["discoveredAt"].startswith(later(120).strftime("%Y-%m-%dT%H:%M:%S"))
    second = http.get(url(arn, limit=2, nextToken=body["nextToken"]), headers=auth).json()
    assert [i["executionId"] for i in second["items"]] == ["s0"] and second["nextToken"] is None


def test_unknown_resource_is_an_empty_list_and_bad_input_is_refused(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    # before the lake writer has written anything the table may not exist: not available, still a 200
    empty = http.get(url("arn:aws:ec2:us-east-1:111111111111:instance/i-none"), headers=auth)
    assert empty.status_code == 200 and empty.json()["items"] == [] and empty.json()["nextToken"] is None
    handle_batch(sqs_event(page([resource(1)], execution_id="s0")), None, build_service(LakeWriterSettings()))
    none = http.get(url("arn:aws:ec2:us-east-1:111111111111:instance/i-none"), headers=auth).json()
    assert (none["available"], none["items"]) == (True, [])
    assert http.get(url(resource(1).resource_arn, limit=0), headers=auth).status_code == 422
    assert http.get(url(resource(1).resource_arn, limit=101), headers=auth).status_code == 422
    assert http.get(url(resource(1).resource_arn, nextToken="nope"), headers=auth).status_code == 422
    assert http.get(url("not-an-arn"), headers=auth).status_code == 422
    assert http.get(url(resource(1).resource_arn)).status_code == 401
