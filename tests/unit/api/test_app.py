"""The HTTP layer over in-memory ports: auth, roles, rate limit, validation, error shape, audit."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.audit import AuditService
from inventory_api.auth import LocalTokenVerifier, mint_local_token
from inventory_api.export import ExportService
from inventory_api.main import create_app
from inventory_api.ratelimit import InMemoryCounterStore, RateLimiter
from inventory_api.service import InventoryQueryService
from inventory_api.sync import SyncService
from inventory_core.items import Account

from tests.fakes.api import (
    InMemoryAuditLog,
    InMemoryExportStore,
    InMemoryInventoryReader,
    InMemoryScanRequestSender,
    InMemoryScanStore,
    resource_item,
)

SECRET = b"s" * 64
PROD = "111111111111"


class Api:
    def __init__(self, *, limit: int = 1000) -> None:
        self.reader = InMemoryInventoryReader.of(
            [resource_item(n, account=PROD) for n in range(12)], [Account(PROD, "Prod", True)]
        )
        self.query = InventoryQueryService(self.reader)
        self.scans = InMemoryScanStore()
        self.sender = InMemoryScanRequestSender()
        self.exports = InMemoryExportStore()
        self.audit_log = InMemoryAuditLog()
        self.limiter = RateLimiter(InMemoryCounterStore(), limit)
        self.limiter = RateLimiter(InMemoryCounterStore(), limit)
        ids = itertools.count(1)
        app = create_app()
        app.dependency_overrides.update(
            {
                deps.query_service: lambda: self.query,
                deps.sync_service: lambda: SyncService(
                    self.reader,
                    self.scans,
                    self.sender,
                    AuditService(self.audit_log),
                    new_id=lambda: f"exec-{next(ids)}",
                ),
                deps.export_service: lambda: ExportService(self.query, self.exports, AuditService(self.audit_log)),
                deps.audit_service: lambda: AuditService(self.audit_log),
                deps.token_verifier: lambda: LocalTokenVerifier(SECRET),
                deps.rate_limiter: lambda: self.limiter,
            }
        )
        self.client = TestClient(app, raise_server_exceptions=False)

    def as_(self, user: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_local_token(SECRET, user, role)}"}


@pytest.fixture
def api() -> Api:
    return Api()


def test_health_needs_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/inventory/resources"),
        ("GET", "/api/inventory/status"),
        ("POST", "/api/inventory/sync"),
        ("POST", "/api/inventory/resources/export"),
        ("GET", "/api/inventory/sync/exec-1"),
        ("GET", "/api/inventory/audit"),
    ],
)
def test_no_token_no_data(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


def test_a_forged_token_is_refused(api: Api) -> None:
    forged = mint_local_token(b"f" * 64, "mallory", "admin")
    response = api.client.get("/api/inventory/resources", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "mallory" not in response.text and forged not in response.text


def test_a_viewer_reads_and_exports_but_cannot_sync_or_read_the_audit(api: Api) -> None:
    viewer = api.as_("vera", "viewer")
    assert api.client.get("/api/inventory/resources", headers=viewer).status_code == 200
    assert api.client.post("/api/inventory/resources/export", headers=viewer, json={}).status_code == 200
    denied = api.client.post("/api/inventory/sync", headers=viewer, json={})
    assert denied.status_code == 403 and "operator" in denied.json()["message"]
    assert api.client.get("/api/inventory/audit", headers=viewer).status_code == 403
    assert api.sender.sent == []


def test_an_operator_syncs_and_the_trigger_is_audited(api: Api) -> None:
    response = api.client.post("/api/inventory/sync", headers=api.as_("otto", "operator"), json={"accountId": PROD})
    assert response.status_code == 202
    assert response.json() == {
        "message": "Sync triggered successfully",
        "executionId": "exec-1",
        "status": "in_progress",
    }
    [record] = api.audit_log.records
    assert (record["actor"], record["action"], record["outcome"], record["sourceIp"]) == (
        "otto",
        "sync",
        "started",
        "testclient",
    )
    assert record["parameters"]["accountId"] == PROD and record["requestId"] == response.headers["x-request-id"]


def test_a_second_sync_returns_the_running_execution(api: Api) -> None:
    headers = api.as_("otto", "operator")
    api.client.post("/api/inventory/sync", headers=headers, json={"accountId": PROD})
    again = api.client.post("/api/inventory/sync", headers=headers, json={"accountId": PROD})
    assert again.status_code == 200
    assert again.json()["executionId"] == "exec-1"
    assert [r["outcome"] for r in api.audit_log.records] == ["started", "already_running"]


def test_sync_of_an_unknown_account_is_404_with_a_message_and_audited(api: Api) -> None:
    response = api.client.post("/api/inventory/sync", headers=api.as_("otto", "operator"), json={"accountId": "9" * 12})
    assert response.status_code == 404
    assert "999999999999" in response.json()["message"]
    assert api.audit_log.records[0]["outcome"] == "not_found"


def test_an_admin_reads_the_audit_trail(api: Api) -> None:
    api.client.post("/api/inventory/resources/export", headers=api.as_("vera", "viewer"), json={"columns": ["name"]})
    body = api.client.get("/api/inventory/audit", headers=api.as_("ada", "admin")).json()
    [item] = body["items"]
    assert (item["actor"], item["action"], item["outcome"]) == ("vera", "export", "success")
    assert item["parameters"]["columns"] == ["name"]
    assert item["parameters"]["key"].startswith("exports/vera/")


def test_over_the_rate_limit_is_429_with_retry_after() -> None:
    api = Api(limit=3)
    headers = api.as_("alice", "viewer")
    codes = [api.client.get("/api/inventory/status", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.client.get("/api/inventory/status", headers=headers)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api.client.get("/api/inventory/status", headers=api.as_("bob", "viewer")).status_code == 200


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"pageSize": 100_001}, "pageSize"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"sortBy": "ttl"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"status": "active,gone"}, "status"),
        ({"accountId": "12345"}, "accountId"),
        ({"search": "x" * 300}, "search"),
    ],
)
def test_bad_parameters_get_422_naming_the_parameter_and_reason(
    api: Api, params: dict[str, Any], parameter: str
) -> None:
    response = api.client.get("/api/inventory/resources", params=params, headers=api.as_("v", "viewer"))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error" and body["requestId"]
    assert [d["parameter"] for d in body["details"]] == [parameter]
    assert body["details"][0]["reason"]


def test_unknown_export_columns_get_422(api: Api) -> None:
    response = api.client.post(
        "/api/inventory/resources/export",
        headers=api.as_("v", "viewer"),
        json={"columns": ["name", "password"]},
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["parameter"] == "columns.1"
    assert api.exports.objects == {}


def test_an_internal_error_is_json_with_a_request_id_and_no_stack_trace(api: Api) -> None:
    def boom() -> list[dict[str, Any]]:
        raise RuntimeError("secret internals /etc/passwd")

    api.reader.account_items = boom  # type: ignore[method-assign]
    response = api.client.get(
        "/api/inventory/status", headers={**api.as_("v", "viewer"), "X-Request-Id": "req-12345678"}
    )
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "internal server error",
        "requestId": response.headers["x-request-id"],
    }
    assert response.headers["x-request-id"] != "req-12345678"  # the server's own id, never the client's
    assert "Traceback" not in response.text and "passwd" not in response.text


def test_a_store_outage_is_503_with_retry_after(api: Api) -> None:
    api.reader.fail = True
    response = api.client.get("/api/inventory/resources", headers=api.as_("v", "viewer"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_resource_detail_takes_the_arn_in_the_path(api: Api) -> None:
    arn = api.reader.items[3]["resourceArn"]
    response = api.client.get(f"/api/inventory/resources/{arn}", headers=api.as_("v", "viewer"))
    assert response.status_code == 200
    assert response.json()["metadata"] == {"InstanceType": "t3.micro", "Count": 2}
    missing = api.client.get("/api/inventory/resources/arn:aws:s3:::nope", headers=api.as_("v", "viewer"))
    assert missing.status_code == 404


def test_the_openapi_documents_bearer_auth_and_the_error_shape(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    operation = schema["paths"]["/api/inventory/resources"]["get"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert api.client.get("/docs").status_code == 200


def test_the_audit_day_must_be_yyyy_mm_dd(api: Api) -> None:
    admin = api.as_("ada", "admin")
    bad = api.client.get("/api/inventory/audit", params={"day": "0"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["details"][0]["parameter"] == "day"
    assert api.client.get("/api/inventory/audit", params={"day": "2026-02-30"}, headers=admin).json() == {"items": []}


def test_an_options_request_on_export_advertises_post(api: Api) -> None:
    response = api.client.options("/api/inventory/resources/export", headers=api.as_("v", "viewer"))
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
