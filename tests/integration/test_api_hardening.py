"""API hardening on the emulator (issue 13, part 5): the probes that found the holes, replayed against the
real audit table, bucket and queue, over TestClient and through the Lambda handler (API Gateway HTTP API)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from inventory_api import deps
from inventory_core.items import Account

from tests.conftest import unique_accounts
from tests.fakes.api import resource_item
from tests.integration.test_api_endpoints import LiveApi, live  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.emulator

EXPORT = "/api/inventory/resources/export"
SYNC = "/api/inventory/sync"


def audit_items(api: LiveApi) -> list[dict[str, Any]]:
    table = api.stack.clients.dynamodb_table(api.stack.env["AUDIT_TABLE_NAME"])
    return list(table.scan()["Items"])


def export_objects(api: LiveApi) -> list[str]:
    listed = api.stack.clients.client("s3").list_objects_v2(Bucket=api.stack.env["INVENTORY_BUCKET"], Prefix="exports/")
    return [o["Key"] for o in listed.get("Contents", [])]


def one_account(api: LiveApi, resources: int) -> str:
    """A fresh account with ``resources`` resources; its id."""
    account = unique_accounts(1)[0]
    api.seed([resource_item(n, account=account) for n in range(resources)], [Account(account, "Prod", True)])
    return account


def queued_requests(api: LiveApi) -> int:
    sqs = api.stack.clients.client("sqs")
    got = sqs.receive_message(
        QueueUrl=api.stack.env["SCAN_REQUESTS_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0
    )
    return len(got.get("Messages", []))


def test_the_450_kb_export_filter_probe_gets_no_export_and_no_silent_audit_gap(
    live: LiveApi,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an inventory and a viewer
    a = one_account(live, 5)
    viewer = live.as_("vera")
    probe = {"filters": {"search": "x" * 450_000}}

    # WHEN the probe is sent as found (450 KB): the edge refuses the body before anything parses it
    assert live.client.post(EXPORT, json=probe, headers=viewer).status_code == 413

    # AND with the body cap lifted, the filter validation (the list query's) refuses it
    monkeypatch.setenv("MAX_BODY_BYTES", str(1024 * 1024))
    deps.reset()
    refused = live.client.post(EXPORT, json=probe, headers=viewer)
    assert refused.status_code == 422 and refused.json()["details"][0]["parameter"] == "filters.search"

    # THEN nothing was exported and nothing needed auditing
    assert export_objects(live) == [] and audit_items(live) == []

    # AND a valid export is audited (in DynamoDB) before its URL is returned
    ok = live.client.post(EXPORT, json={"filters": {"accountId": [a]}}, headers=viewer)
    assert ok.status_code == 200
    [record] = audit_items(live)
    assert (record["action"], record["outcome"], record["parameters"]["rows"]) == ("export", "success", 5)
    assert record["parameters"]["key"] in ok.json()["downloadUrl"]


def test_no_audit_table_no_export_url_and_no_scan(
    live: LiveApi,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an account and an audit table that refuses writes (it does not exist)
    a = one_account(live, 3)
    good_table = live.stack.env["AUDIT_TABLE_NAME"]
    monkeypatch.setenv("AUDIT_TABLE_NAME", good_table + "-gone")
    deps.reset()

    # WHEN a viewer exports and an operator syncs
    export = live.client.post(EXPORT, json={}, headers=live.as_("vera"))
    sync = live.client.post(SYNC, json={"accountId": a}, headers=live.as_("otto", "operator"))

    # THEN both are 503 with the server's request id, no URL is handed out and no scan request is sent
    for response in (export, sync):
        assert response.status_code == 503
        assert response.json()["requestId"] == response.headers["x-request-id"]
    assert "downloadUrl" not in export.text
    assert queued_requests(live) == 0

    # AND the account is not left locked: with the audit table back the same sync starts at once
    monkeypatch.setenv("AUDIT_TABLE_NAME", good_table)
    deps.reset()
    again = live.client.post(SYNC, json={"accountId": a}, headers=live.as_("otto", "operator"))
    assert again.status_code == 202, again.text
    assert queued_requests(live) == 1
    assert [(r["action"], r["outcome"]) for r in audit_items(live)] == [("sync", "started")]


def test_under_lambda_the_audit_keeps_api_gateways_address_and_the_servers_request_id(
    live: LiveApi,  # noqa: F811 - the fixture
) -> None:
    from inventory_api.handler import lambda_handler

    a = one_account(live, 0)
    token = live.as_("vera")["Authorization"]
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": SYNC,
        "rawQueryString": "",
        "headers": {
            "host": "api.example.test",
            "authorization": token,
            "content-type": "application/json",
            "x-forwarded-for": "198.51.100.66",  # chosen by the client: must not be believed
            "x-request-id": "client-chosen-id",
        },
        "requestContext": {
            "http": {"method": "POST", "path": SYNC, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "apigw-1",
            "stage": "$default",
        },
        "body": json.dumps({"accountId": a}),
        "isBase64Encoded": False,
    }

    class Context:
        aws_request_id = "lambda-request-7"

    # WHEN a viewer (not an operator) asks for a sync through API Gateway
    response = lambda_handler(event, Context())

    # THEN it is refused, with the security headers, and the refusal is audited with the real address
    assert response["statusCode"] == 403
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    table = live.stack.clients.dynamodb_table(live.stack.env["AUDIT_TABLE_NAME"])
    [record] = list(table.scan()["Items"])
    assert record["sourceIp"] == "203.0.113.9"
    assert (record["requestId"], record["clientRequestId"]) == ("lambda-request-7", "client-chosen-id")
    assert (record["outcome"], record["parameters"]) == ("forbidden", {"accountId": a})
