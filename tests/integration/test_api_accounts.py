"""Operators' API on the emulator: accounts (add, change, remove, check) and the scan history (issue 11)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from inventory_core.items import (
    Account,
    ScanAccountItem,
    ScanStatusItem,
    account_key,
    account_pk,
    resource_sk_prefix,
)

from tests.builders import http_headers
from tests.conftest import Stack, unique_accounts
from tests.fakes.api import resource_item

pytestmark = pytest.mark.emulator

SECRET_EXTERNAL_ID = "ext-7f3a9c1e5b2d8a4f-SECRET-9XYZ"


class Api:
    def __init__(self, stack: Stack, key_file: Path) -> None:
        self.stack = stack
        self.secret = load_or_create_local_key(key_file)
        self.client = TestClient(create_app(), raise_server_exceptions=False)

    def as_(self, user: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_local_token(self.secret, user, role)}"}

    def audit(self) -> list[dict[str, Any]]:
        from datetime import UTC, datetime

        log = DynamoDbAuditLog(self.stack.clients.dynamodb_table(self.stack.env["AUDIT_TABLE_NAME"]))
        return log.read(datetime.now(UTC).date().isoformat(), 1000)


@pytest.fixture
def api(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("AUTH_LOCAL_KEY_FILE", str(tmp_path / "auth.key"))
    monkeypatch.setenv("READ_MODEL_TTL_S", "600")  # long: removal must invalidate the snapshot itself
    monkeypatch.setenv("READ_MODEL_STALE_S", "0")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "10000")
    monkeypatch.setenv("INVENTORY_REGIONS", "us-east-1,eu-west-1")
    deps.reset()
    yield Api(stack, tmp_path / "auth.key")
    deps.reset()


def test_account_lifecycle_through_the_api_is_validated_audited_and_never_shows_the_external_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="inventory_api")
    admin, viewer = api.as_("ada", "admin"), api.as_("vera", "viewer")
    (account,) = unique_accounts(1)

    # WHEN an admin adds an account with its own role, ExternalId and regions
    created = api.client.post(
        "/api/inventory/accounts",
        json={
            "accountId": account,
            "accountName": "Payments",
            "roleName": "NucleusAccess-Payments",
            "externalId": SECRET_EXTERNAL_ID,
            "regions": ["eu-west-1", "us-east-1"],
        },
        headers=admin,
    )
    # THEN it is registered, enabled, and the ExternalId shows only as a 4-character hint
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {
        "accountId": account,
        "accountName": "Payments",
        "roleName": "NucleusAccess-Payments",
        "roleArn": f"arn:aws:iam::{account}:role/NucleusAccess-Payments",
        "regions": ["eu-west-1", "us-east-1"],
        "syncEnabled": True,
        "externalIdConfigured": True,
        "externalIdHint": "9XYZ",
        "source": "inventory",
        "lastSyncedAt": None,
        "lastSyncStatus": None,
        "lastSyncResourceCount": None,
        "lastSyncDurationMs": None,
        "lastSyncExecutionId": None,
    }
    stored = api.stack.table.get_item(Key=account_key(account))["Item"]
    assert stored["externalId"] == SECRET_EXTERNAL_ID  # the scanner reads it from here
    assert Account.from_item(stored).regions == ("eu-west-1", "us-east-1")

    listed = api.client.get("/api/inventory/accounts", headers=viewer).json()
    assert [a["accountId"] for a in listed["items"]] == [account] and listed["count"] == 1

    # AND a second add is a conflict, a viewer may not add, and bad input is refused with its reason
    again = api.client.post("/api/inventory/accounts", json={"accountId": account, "accountName": "x"}, headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    denied = api.client.post(
        "/api/inventory/accounts", json={"accountId": "1" * 12, "accountName": "x"}, headers=viewer
    )
    assert denied.status_code == 403
    for bad, parameter in (
        ({"accountId": "12345", "accountName": "x"}, "accountId"),
        ({"accountId": "1" * 12, "accountName": "x", "roleName": "Admin"}, "roleName"),
        ({"accountId": "1" * 12, "accountName": "x", "externalId": "has space"}, "externalId"),
    ):
        refused = api.client.post("/api/inventory/accounts", json=bad, headers=admin)
        assert refused.status_code == 422, bad
        assert refused.json()["details"][0]["parameter"] == parameter
    unknown = api.client.post(
        "/api/inventory/accounts",
        json={"accountId": "1" * 12, "accountName": "x", "regions": ["us-east-1", "zz-mars-1"]},
        headers=admin,
    )
    assert unknown.status_code == 422 and "zz-mars-1" in unknown.json()["message"]

    # WHEN the admin disables it, changes its role back to the default and drops its regions
    patched = api.client.patch(
        f"/api/inventory/accounts/{account}",
        json={"syncEnabled": False, "roleName": None, "regions": None},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["syncEnabled"] is False
    assert patched.json()["roleName"] == "NucleusAccess-Inventory"
    assert patched.json()["regions"] is None
    assert patched.json()["externalIdHint"] == "9XYZ"
    # a sync of a disabled account is refused
    assert api.client.post("/api/inventory/sync", json={"accountId": account}, headers=admin).status_code == 409
    assert (
        api.client.patch("/api/inventory/accounts/999999999999", json={"syncEnabled": True}, headers=admin).status_code
        == 404
    )
    assert api.client.patch(f"/api/inventory/accounts/{account}", json={}, headers=admin).json() == patched.json()
    assert (
        api.client.patch(f"/api/inventory/accounts/{account}", json={"syncEnabled": None}, headers=admin).status_code
        == 422
    )

    # THEN every change is in the audit log, and the ExternalId is in no response, audit record or log line
    actions = sorted((r["action"], r["outcome"]) for r in api.audit())
    assert ("account.add", "success") in actions
    assert ("account.add", "conflict") in actions
    assert ("account.add", "invalid") in actions
    assert ("account.update", "success") in actions
    filtered = api.client.get("/api/inventory/audit", params={"action": "account.update"}, headers=admin).json()
    assert filtered["items"] and {r["action"] for r in filtered["items"]} == {"account.update"}
    everything = json.dumps(api.audit()) + listed.__repr__() + caplog.text + patched.text
    assert SECRET_EXTERNAL_ID not in everything
    assert SECRET_EXTERNAL_ID not in api.client.get("/api/inventory/accounts", headers=viewer).text


def test_removing_an_account_takes_its_resources_off_the_grid_and_keeps_its_history(api: Api) -> None:
    # GIVEN two registered accounts with resources, and the grid already loaded
    admin = api.as_("ada", "admin")
    keep, drop = unique_accounts(2)
    with api.stack.table.batch_writer() as batch:
        for n in range(6):
            batch.put_item(Item=resource_item(n, account=keep if n % 2 else drop))
        for account_id in (keep, drop):
            batch.put_item(Item=Account(account_id, f"acct-{account_id}", True).to_item())
    grid = api.client.get("/api/inventory/resources", params={"pageSize": 100}, headers=admin).json()
    assert grid["pagination"]["totalItems"] == 6

    # WHEN the admin removes one account
    removed = api.client.delete(f"/api/inventory/accounts/{drop}", headers=admin)
    assert removed.status_code == 204

    # THEN its resources leave the grid at once, but stay in the table, none marked missing
    grid = api.client.get("/api/inventory/resources", params={"pageSize": 100}, headers=admin).json()
    assert {r["accountId"] for r in grid["items"]} == {keep} and grid["pagination"]["totalItems"] == 3
    kept = api.stack.table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": account_pk(drop), ":sk": resource_sk_prefix()},
    )["Items"]
    assert len(kept) == 3 and {i["discoveryStatus"] for i in kept} == {"active"}
    assert api.client.delete(f"/api/inventory/accounts/{drop}", headers=admin).status_code == 404
    assert ("account.remove", "success") in {(r["action"], r["outcome"]) for r in api.audit()}


def _assume_role_denied(request: Any, **_: Any) -> AWSResponse:
    body = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:"
        b"user/ops is not authorized to perform: sts:AssumeRole on resource: x</Message></Error></ErrorResponse>"
    )

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse(request.url, 403, http_headers({"Content-Type": "text/xml"}), Raw())


def test_check_assumes_the_role_and_reports_each_region(api: Api) -> None:
    admin = api.as_("ada", "admin")
    (account,) = unique_accounts(1)
    api.client.post(
        "/api/inventory/accounts",
        json={"accountId": account, "accountName": "Checked", "externalId": SECRET_EXTERNAL_ID},
        headers=admin,
    )

    # WHEN the role can be assumed (moto) THEN every default region answers ok
    checked = api.client.post(f"/api/inventory/accounts/{account}/check", headers=admin)
    assert checked.status_code == 200, checked.text
    assert [(r["region"], r["status"]) for r in checked.json()["results"]] == [("us-east-1", "ok"), ("eu-west-1", "ok")]
    assert (
        api.client.post(f"/api/inventory/accounts/{account}/check", headers=api.as_("o", "operator")).status_code == 403
    )
    assert api.client.post("/api/inventory/accounts/999999999999/check", headers=admin).status_code == 404

    # WHEN AssumeRole is refused THEN each region says access denied and names the action
    sts = deps._clients().client("sts")
    sts.meta.events.register("before-send.sts.AssumeRole", _assume_role_denied)
    try:
        denied = api.client.post(f"/api/inventory/accounts/{account}/check", headers=admin).json()
    finally:
        sts.meta.events.unregister("before-send.sts.AssumeRole", _assume_role_denied)
    assert {(r["status"], r["action"]) for r in denied["results"]} == {("access_denied", "sts:AssumeRole")}
    assert ("account.check", "success") in {(r["action"], r["outcome"]) for r in api.audit()}


def test_sync_history_lists_every_trigger_newest_first_in_pages(api: Api) -> None:
    # GIVEN an API-triggered sync and two executions the scanner started (schedule, CLI)
    operator = api.as_("olga", "operator")
    (account,) = unique_accounts(1)
    api.stack.table.put_item(Item=Account(account, "Hist", True).to_item())
    for execution_id, trigger, started_at in (
        ("sched-1", "schedule", "2020-01-01T02:00:00Z"),
        ("cli-1", "cli", "2020-01-02T09:00:00Z"),
    ):
        api.stack.table.put_item(
            Item=ScanStatusItem(
                execution_id,
                status="completed",
                trigger=trigger,
                requested_by=trigger,
                started_at=started_at,
                completed_at=started_at,
                account_ids=(account,),
                resource_count=7,
            ).to_item()
        )
        api.stack.table.put_item(
            Item=ScanAccountItem(execution_id, account, status="partial", scopes_done=3, scopes_failed=2).to_item()
        )
    started = api.client.post("/api/inventory/sync", json={"accountId": account}, headers=operator)
    assert started.status_code == 202

    # WHEN a viewer pages through the history two at a time
    viewer = api.as_("vera", "viewer")
    first = api.client.get("/api/inventory/sync", params={"limit": 2}, headers=viewer).json()
    second = api.client.get(
        "/api/inventory/sync", params={"limit": 2, "nextToken": first["nextToken"]}, headers=viewer
    ).json()

    # THEN the newest comes first, each row carries who, when, what and the failed scopes
    rows = first["items"] + second["items"]
    assert [r["executionId"] for r in rows] == [started.json()["executionId"], "cli-1", "sched-1"]
    assert rows[0]["trigger"] == "api" and rows[0]["requestedBy"] == "olga" and rows[0]["status"] == "in_progress"
    assert rows[1] == {
        "executionId": "cli-1",
        "trigger": "cli",
        "requestedBy": "cli",
        "startedAt": "2020-01-02T09:00:00Z",
        "finishedAt": "2020-01-02T09:00:00Z",
        "status": "completed",
        "accountsTotal": 1,
        "accountsCompleted": 1,
        "resourceCount": 7,
        "failedScopes": 2,
    }
    assert (
        second["nextToken"] is None
        or api.client.get(
            "/api/inventory/sync", params={"limit": 2, "nextToken": second["nextToken"]}, headers=viewer
        ).json()["items"]
        == []
    )
    bad = api.client.get("/api/inventory/sync", params={"nextToken": "not-a-token"}, headers=viewer)
    assert bad.status_code == 422 and bad.json()["error"] == "validation_error"
