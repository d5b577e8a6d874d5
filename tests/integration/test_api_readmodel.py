"""The API's read model on the emulator: the projector's snapshot and change journal, warm and cold."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ddb_projector.bootstrap import build_service
from ddb_projector.settings import ProjectorSettings
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from inventory_core.grid import SNAPSHOT_KEY, WATERMARK_METADATA
from inventory_core.items import Account
from inventory_events import ScanCompleted

from tests.builders import T0, later, resource, scan_events
from tests.conftest import Stack, unique_accounts
from tests.fakes.api import resource_item

pytestmark = pytest.mark.emulator


class Api:
    """A fresh API process as far as the read model goes: ``deps.reset()`` forgets every built service."""

    def __init__(self, key_file: Path) -> None:
        deps.reset()
        token = mint_local_token(load_or_create_local_key(key_file), "vera", "viewer")
        self.client = TestClient(create_app(), headers={"Authorization": f"Bearer {token}"})

    def grid(self, **params: Any) -> dict[str, Any]:
        response = self.client.get("/api/inventory/resources", params={"pageSize": 500, **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {i["resourceArn"]: i["discoveryStatus"] for i in body["items"]}


def within(seconds: float, check: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.fixture
def api_env(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The API with its default read-model settings (READ_MODEL_TTL_S=60): only the journal makes it fresh."""
    monkeypatch.setenv("AUTH_LOCAL_KEY_FILE", str(tmp_path / "auth.key"))
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "10000")
    monkeypatch.delenv("READ_MODEL_TTL_S", raising=False)
    yield tmp_path / "auth.key"
    deps.reset()


def test_a_status_change_by_the_projector_shows_within_5_s_warm_and_at_once_cold(stack: Stack, api_env: Path) -> None:
    # GIVEN six resources projected by the real projector, which publishes the snapshot when the scan completes
    (acct,) = unique_accounts(1)
    stack.table.put_item(Item=Account(acct, "Prod", True).to_item())
    projector = build_service(ProjectorSettings())
    fleet = [resource(n, account_id=acct, at=later(1)) for n in range(6)]
    for event in scan_events("s1", T0, fleet):
        projector.handle(event)
    s3 = stack.clients.client("s3")
    published = s3.get_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=SNAPSHOT_KEY)
    assert published["ServerSideEncryption"] == "AES256"
    assert published["Metadata"][WATERMARK_METADATA]
    warm = Api(api_env)
    before = warm.grid()
    assert before["pagination"]["totalItems"] == 6
    assert set(statuses(before).values()) == {"active"}

    # WHEN a second scan no longer finds resource 0: the projector sweeps it missing and updates the others
    # (its ScanCompleted is held back, so nothing is re-published: the change lives only in the journal)
    gone = fleet[0].resource_arn
    for event in scan_events("s2", later(60), [resource(n, account_id=acct, at=later(61)) for n in range(1, 6)]):
        if not isinstance(event, ScanCompleted):
            projector.handle(event)

    # THEN the warm API (its snapshot fresh for 60 s) shows it within 5 s
    waited = within(5.0, lambda: statuses(warm.grid()).get(gone) == "missing")
    print(f"warm API showed the change after {waited:.2f} s")

    # AND a cold API shows it on its first request, with the others' new lastDiscoveredAt and exact totals
    stack.table.put_item(Item=resource_item(999, account=acct))  # behind the projector's back: not journaled
    cold = Api(api_env)
    first = cold.grid(status="missing")
    assert first["pagination"]["totalItems"] == 1
    assert [i["resourceArn"] for i in first["items"]] == [gone]
    everything = cold.grid(sortBy="lastDiscoveredAt", sortOrder="desc")
    assert everything["pagination"]["totalItems"] == 6  # from the snapshot and the journal, not a table read
    assert {i["lastDiscoveredAt"] for i in everything["items"][:5]} == {"2026-11-25T03:01:00.000000Z"}


def test_without_a_published_snapshot_a_cold_api_reads_the_table_and_then_follows_the_journal(
    stack: Stack, api_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a projector that publishes no snapshot (no bucket configured)
    monkeypatch.delenv("INVENTORY_BUCKET")
    (acct,) = unique_accounts(1)
    stack.table.put_item(Item=Account(acct, "Prod", True).to_item())
    projector = build_service(ProjectorSettings())
    monkeypatch.setenv("INVENTORY_BUCKET", stack.env["INVENTORY_BUCKET"])
    for event in scan_events("s1", T0, [resource(n, account_id=acct, at=later(1)) for n in range(4)]):
        projector.handle(event)
    api = Api(api_env)
    assert api.grid()["pagination"]["totalItems"] == 4

    # WHEN a new resource is projected THEN the warm API shows it within 5 s
    for event in scan_events("s2", later(60), [resource(n, account_id=acct, at=later(61)) for n in range(5)]):
        projector.handle(event)
    within(5.0, lambda: api.grid()["pagination"]["totalItems"] == 5)
