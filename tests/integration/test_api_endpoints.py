"""The API on the emulator: real table, queue, bucket and audit table, through HTTP with real tokens."""

from __future__ import annotations

import io
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_api.adapters.dynamodb_counter import DynamoDbCounterStore
from inventory_api.adapters.dynamodb_scans import DynamoDbScanStore
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from inventory_api.ratelimit import RateLimiter
from inventory_core.items import SCAN_STATUS_SK, Account, ScanAccountItem, account_key
from inventory_events import ScanRequested, parse_event
from openpyxl import load_workbook

from tests.conftest import Stack, unique_accounts
from tests.fakes.api import InMemoryAuditLog, InMemoryScanStore, resource_item

pytestmark = pytest.mark.emulator


class LiveApi:
    def __init__(self, stack: Stack, key_file: Path) -> None:
        self.stack = stack
        self.secret = load_or_create_local_key(key_file)
        self.client = TestClient(create_app(), raise_server_exceptions=False)

    def as_(self, user: str, role: str = "viewer") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_local_token(self.secret, user, role)}"}

    def seed(self, items: list[dict[str, Any]], accounts: list[Account]) -> None:
        with self.stack.table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=item)
            for account in accounts:
                batch.put_item(Item=account.to_item())


@pytest.fixture
def live(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveApi]:
    monkeypatch.setenv("AUTH_LOCAL_KEY_FILE", str(tmp_path / "auth.key"))
    monkeypatch.setenv("READ_MODEL_TTL_S", "0")
    monkeypatch.setenv("READ_MODEL_STALE_S", "0")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "10000")
    deps.reset()
    yield LiveApi(stack, tmp_path / "auth.key")
    deps.reset()


def test_the_grid_filters_sorts_pages_and_shows_detail(live: LiveApi) -> None:
    # GIVEN 60 resources in two accounts, two types, two regions
    a, b = unique_accounts(2)
    items = [
        resource_item(
            n,
            account=a if n % 2 else b,
            rtype="ec2" if n % 3 else "rds",
            region="us-east-1" if n < 40 else "eu-west-1",
            status="missing" if n % 7 == 0 else "active",
        )
        for n in range(60)
    ]
    live.seed(items, [Account(a, "Prod", True), Account(b, "Dev", True)])
    viewer = live.as_("vera")

    # WHEN the grid asks for multi-select filters
    body = live.client.get(
        "/api/inventory/resources",
        params={"accountId": f"{a},{b}", "resourceType": "ec2", "status": "active", "sortBy": "name", "pageSize": 10},
        headers=viewer,
    ).json()

    # THEN totals, order, account names and filter options are right
    expected = sorted(i["name"] for i in items if i["resourceType"] == "ec2" and i["discoveryStatus"] == "active")
    assert body["pagination"]["totalItems"] == len(expected)
    assert [i["name"] for i in body["items"]] == expected[:10]
    assert {i["accountName"] for i in body["items"]} == {"Prod", "Dev"}
    assert body["filters"]["resourceTypes"] == ["ec2", "rds"]
    assert body["filters"]["regions"] == ["eu-west-1", "us-east-1"]
    assert {(x["id"], x["name"]) for x in body["filters"]["accounts"]} == {(a, "Prod"), (b, "Dev")}
    searched = live.client.get("/api/inventory/resources", params={"search": "ID-000042"}, headers=viewer).json()
    assert [i["resourceId"] for i in searched["items"]] == ["id-000042"]

    # AND the detail of one resource carries tags, metadata and first/last seen
    arn = items[41]["resourceArn"]
    detail = live.client.get(f"/api/inventory/resources/{urllib.parse.quote(arn, safe='')}", headers=viewer).json()
    assert (detail["resourceArn"], detail["accountName"], detail["region"]) == (arn, "Prod", "eu-west-1")
    assert detail["metadata"] == {"InstanceType": "t3.micro", "Count": 2}
    assert detail["tags"] == {"team": "t1", "env": "prod"}
    assert detail["firstDiscoveredAt"] and detail["lastDiscoveredAt"] == items[41]["lastDiscoveredAt"]


def receive_all(live: LiveApi) -> list[dict[str, Any]]:
    sqs = live.stack.clients.client("sqs")
    url = live.stack.env["SCAN_REQUESTS_QUEUE_URL"]
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages += batch
    return messages


def test_sync_requests_a_scan_once_and_reports_progress_per_account(live: LiveApi) -> None:
    # GIVEN an enabled and a disabled account
    on, off = unique_accounts(2)
    live.seed([], [Account(on, "Prod", True), Account(off, "Old", False)])
    operator = live.as_("otto", "operator")

    # WHEN an operator syncs the enabled account twice
    first = live.client.post("/api/inventory/sync", json={"accountId": on}, headers=operator)
    second = live.client.post("/api/inventory/sync", json={"accountId": on}, headers=operator)

    # THEN one ScanRequested reaches the scanner's queue and the second call returns the running execution
    assert first.status_code == 202 and first.json()["status"] == "in_progress"
    execution_id = first.json()["executionId"]
    assert (second.status_code, second.json()["executionId"]) == (200, execution_id)
    [message] = receive_all(live)
    event = parse_event(message["Body"])
    assert isinstance(event, ScanRequested)
    assert (event.execution_id, event.account_ids, event.trigger, event.requested_by) == (
        execution_id,
        [on],
        "api",
        "otto",
    )
    assert message["MessageAttributes"]["event_type"]["StringValue"] == "ScanRequested"

    # AND progress shows the account in progress until the projector reports it
    progress = live.client.get(f"/api/inventory/sync/{execution_id}", headers=live.as_("vera")).json()
    assert (progress["status"], progress["requestedBy"], progress["trigger"]) == ("in_progress", "otto", "api")
    assert [(x["accountId"], x["status"]) for x in progress["accounts"]] == [(on, "in_progress")]
    live.stack.table.put_item(
        Item=ScanAccountItem(
            execution_id,
            on,
            status="success",
            resource_count=12,
            duration_ms=900,
            completed_at="2026-11-25T02:01:00.000000Z",
        ).to_item()
    )
    progress = live.client.get(f"/api/inventory/sync/{execution_id}", headers=live.as_("vera")).json()
    assert [(x["accountId"], x["status"], x["resourceCount"]) for x in progress["accounts"]] == [(on, "success", 12)]

    # AND once it finished, a new sync starts a new execution; a disabled or unknown account is refused
    third = live.client.post("/api/inventory/sync", json={"accountId": on}, headers=operator)
    assert third.status_code == 202 and third.json()["executionId"] != execution_id
    disabled = live.client.post("/api/inventory/sync", json={"accountId": off}, headers=operator)
    assert disabled.status_code == 409 and "disabled" in disabled.json()["message"]
    assert live.client.post("/api/inventory/sync", json={"accountId": "1" * 12}, headers=operator).status_code == 404
    assert live.client.get("/api/inventory/sync/unknown-id", headers=operator).status_code == 404

    # AND every trigger is in the audit table, readable by admins only
    audit = live.client.get("/api/inventory/audit", params={"action": "sync"}, headers=live.as_("ada", "admin"))
    outcomes = sorted(r["outcome"] for r in audit.json()["items"])
    assert outcomes == ["already_running", "conflict", "not_found", "started", "started"]
    assert all(r["actor"] == "otto" and r["sourceIp"] == "testclient" for r in audit.json()["items"])
    assert live.client.get("/api/inventory/audit", headers=operator).status_code == 403

    # AND a viewer's refused trigger is audited as forbidden, and starts nothing
    refused = live.client.post("/api/inventory/sync", json={"accountId": on}, headers=live.as_("vic"))
    assert refused.status_code == 403
    audit = live.client.get("/api/inventory/audit", params={"action": "sync"}, headers=live.as_("ada", "admin"))
    assert [(r["actor"], r["outcome"]) for r in audit.json()["items"] if r["actor"] == "vic"] == [("vic", "forbidden")]
    queued = [parse_event(m["Body"]).execution_id for m in receive_all(live)]
    assert queued == [third.json()["executionId"]]  # only the third sync's request; none from the refusal


def test_export_is_downloaded_through_a_presigned_url_that_expires_in_an_hour(live: LiveApi) -> None:
    # GIVEN 40 resources in two accounts
    a, b = unique_accounts(2)
    items = [resource_item(n, account=a if n % 2 else b, rtype="ec2" if n % 4 else "s3") for n in range(40)]
    live.seed(items, [Account(a, "Prod", True), Account(b, "Dev", True)])

    # WHEN alice exports the ec2 resources of account a
    response = live.client.post(
        "/api/inventory/resources/export",
        json={"filters": {"accountId": a, "resourceType": ["ec2"]}, "columns": ["name", "accountName", "tags"]},
        headers=live.as_("alice"),
    )
    assert response.status_code == 200, response.text
    url, expires_at = response.json()["downloadUrl"], response.json()["expiresAt"]

    # THEN the URL is signed for exactly 3600 s and expiresAt is signing time + 3600 s
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["3600"]
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = datetime.strptime(expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(expires - (signed + timedelta(seconds=3600))) <= timedelta(seconds=2)

    # AND the object sits under alice's prefix, encrypted with SSE-S3
    key = urllib.parse.unquote(urllib.parse.urlsplit(url).path.split("/", 2)[2])
    assert key.startswith("exports/alice/") and key.endswith("/export.xlsx")
    head = live.stack.clients.client("s3").head_object(Bucket=live.stack.env["INVENTORY_BUCKET"], Key=key)
    assert head["ServerSideEncryption"] == "AES256"

    # AND downloading through the URL gives the workbook with exactly the matching rows
    with urllib.request.urlopen(url) as download:
        content = download.read()
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["Name", "Account", "Tags"]
    expected = sorted(i["name"] for i in items if i["accountId"] == a and i["resourceType"] == "ec2")
    assert [r[0] for r in rows[1:]] == expected
    assert {r[1] for r in rows[1:]} == {"Prod"}
    assert all(str(r[2]).startswith("env=prod; team=t") for r in rows[1:])

    # AND bob's export lands under bob's prefix, never alice's
    bob = live.client.post("/api/inventory/resources/export", json={}, headers=live.as_("bob")).json()
    assert "/exports/bob/" in bob["downloadUrl"] and "/exports/alice/" not in bob["downloadUrl"]
    audit = live.client.get("/api/inventory/audit", params={"action": "export"}, headers=live.as_("ada", "admin"))
    assert sorted(r["actor"] for r in audit.json()["items"]) == ["alice", "bob"]


def test_status_lists_accounts_with_their_last_sync_and_the_next_run(
    live: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNC_SCHEDULE_EXPRESSION", "cron(15 3 ? * MON *)")
    deps.reset()
    a, b = unique_accounts(2)
    live.seed([], [Account(a, "Prod", True), Account(b, "Dev", False)])
    live.stack.table.update_item(
        Key=account_key(a),
        UpdateExpression="SET lastSyncedAt = :t, lastSyncStatus = :s, lastSyncResourceCount = :n",
        ExpressionAttributeValues={":t": "2026-11-25T02:04:00.000000Z", ":s": "success", ":n": 1547},
    )
    body = live.client.get("/api/inventory/status", headers=live.as_("vera")).json()
    mine = {x["accountId"]: x for x in body["accounts"] if x["accountId"] in (a, b)}
    assert mine[a] == {
        "accountId": a,
        "accountName": "Prod",
        "lastSyncedAt": "2026-11-25T02:04:00.000000Z",
        "lastSyncStatus": "success",
        "resourceCount": 1547,
        "syncEnabled": True,
    }
    assert (mine[b]["syncEnabled"], mine[b]["lastSyncStatus"]) == (False, None)
    upcoming = datetime.strptime(body["nextScheduledSync"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert (upcoming.weekday(), upcoming.hour, upcoming.minute) == (0, 3, 15)
    assert timedelta(0) < upcoming - datetime.now(UTC) <= timedelta(days=7)


def test_rate_limit_counters_in_dynamodb_are_shared_by_every_instance(stack: Stack) -> None:
    one = RateLimiter(DynamoDbCounterStore(stack.table), 5, clock=lambda: 600.0)
    two = RateLimiter(DynamoDbCounterStore(stack.table), 5, clock=lambda: 600.0)
    allowed = [(one if i % 2 else two).check("alice").allowed for i in range(6)]
    assert allowed == [True] * 5 + [False]
    assert two.check("bob").allowed


@pytest.fixture(params=["memory", "dynamodb"])
def scan_store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryScanStore()
    return DynamoDbScanStore(request.getfixturevalue("stack").table)


def test_scan_store_contract_one_holder_per_account(scan_store: Any) -> None:
    account = unique_accounts(1)[0]
    assert scan_store.acquire_sync_lock(account, "e1", expires_at=2000, now=1000) is None
    assert scan_store.acquire_sync_lock(account, "e2", expires_at=2000, now=1500) == "e1"
    assert scan_store.steal_sync_lock(account, "not-e1", "e2", 3000) is False
    assert scan_store.steal_sync_lock(account, "e1", "e2", 3000) is True
    assert scan_store.acquire_sync_lock(account, "e3", expires_at=4000, now=3001) is None  # e2's lock expired
    scan_store.release_sync_lock(account, "e2")  # not the holder: no effect
    assert scan_store.acquire_sync_lock(account, "e4", expires_at=5000, now=3002) == "e3"
    scan_store.release_sync_lock(account, "e3")
    assert scan_store.acquire_sync_lock(account, "e4", expires_at=5000, now=3003) is None


def test_scan_store_contract_execution_status_keeps_what_is_already_set(scan_store: Any) -> None:
    eid = f"exec-{unique_accounts(1)[0]}"
    scan_store.start_execution(eid, {"status": "in_progress", "requestedBy": "otto"})
    scan_store.start_execution(eid, {"status": "in_progress", "requestedBy": "someone-else", "trigger": "api"})
    [status] = scan_store.execution_items(eid)
    assert (status["sk"], status["requestedBy"], status["trigger"]) == (SCAN_STATUS_SK, "otto", "api")
    scan_store.fail_execution(eid, "queue down", "2026-11-25T00:00:00Z")
    assert scan_store.execution_items(eid)[0]["status"] == "failed"
    assert scan_store.execution_items("never-started") == []


@pytest.fixture(params=["memory", "dynamodb"])
def audit_log(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryAuditLog()
    stack: Stack = request.getfixturevalue("stack")
    return DynamoDbAuditLog(stack.clients.dynamodb_table(stack.env["AUDIT_TABLE_NAME"]))


def test_audit_log_contract_newest_first_per_day_and_by_action(audit_log: Any) -> None:
    for i, action in enumerate(["sync", "export", "sync"]):
        audit_log.record({"time": f"2026-11-25T10:00:0{i}.000000Z", "actor": "a", "action": action, "outcome": "ok"})
    audit_log.record({"time": "2026-11-26T00:00:00.000000Z", "actor": "a", "action": "sync", "outcome": "ok"})
    day = audit_log.read("2026-11-25", 10)
    assert [r["time"][17:19] for r in day] == ["02", "01", "00"]
    assert [r["action"] for r in audit_log.read("2026-11-25", 10, ["export"])] == ["export"]
    assert len(audit_log.read("2026-11-25", 2)) == 2
