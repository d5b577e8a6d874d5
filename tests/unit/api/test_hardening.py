"""API hardening (issue 13, part 5) over in-memory ports: audit before export/sync, addresses and request
ids, body limit, auth before body validation, token claim types and lifetime, security headers, docs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.auth import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    AuthError,
    LocalTokenVerifier,
    load_or_create_local_key,
    mint_local_token,
)
from inventory_api.edge import client_address
from inventory_api.settings import ApiAuthSettings

from tests.unit.api.test_app import PROD, SECRET, Api

EXPORT = "/api/inventory/resources/export"
SYNC = "/api/inventory/sync"


@pytest.fixture
def api() -> Iterator[Api]:
    deps.reset()  # the edge reads its settings (body limit, proxies) on the first request
    yield Api()
    deps.reset()


def signed(claims: dict[str, Any]) -> str:
    now = int(time.time())
    base = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": "mallory", "iat": now, "exp": now + 3600}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


# --- export and sync: no audit record, no URL, no scan ---------------------------------------------------


def test_an_export_whose_audit_cannot_be_written_hands_out_no_url(api: Api) -> None:
    api.audit_log.fail = True
    response = api.client.post(EXPORT, headers=api.as_("vera", "viewer"), json={})
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "unavailable" and body["requestId"] == response.headers["x-request-id"]
    assert "downloadUrl" not in response.text and "X-Amz" not in response.text


def test_export_filters_are_validated_like_the_list_query(api: Api) -> None:
    # The probe: ~450 KB of filter values overflowed the audit item, the audit failed silently, the URL went out.
    viewer = api.as_("vera", "viewer")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"region": "x" * 2001}, "filters.region"),
        ({"search": "x" * 257}, "filters.search"),
        ({"accountId": ["12345"]}, "filters.accountId"),
        ({"status": "gone"}, "filters.status"),
    ]
    for filters, parameter in cases:
        response = api.client.post(EXPORT, headers=viewer, json={"filters": filters})
        assert response.status_code == 422, filters
        assert [d["parameter"] for d in response.json()["details"]] == [parameter]
        listed = api.client.get(
            "/api/inventory/resources", headers=viewer, params={parameter.split(".")[1]: filters.popitem()[1]}
        )
        assert listed.status_code == 422  # the same value is refused by the list endpoint too
    assert api.exports.objects == {} and api.audit_log.records == []
    # arrays (what the UI sends) are the same filter as comma lists
    ok = api.client.post(EXPORT, headers=viewer, json={"filters": {"accountId": [PROD], "status": ["active"]}})
    assert ok.status_code == 200
    assert api.audit_log.records[-1]["parameters"]["filters"]["accountId"] == PROD


def test_a_sync_whose_audit_cannot_be_written_starts_no_scan_and_frees_the_account(api: Api) -> None:
    operator = api.as_("otto", "operator")
    api.audit_log.fail = True
    refused = api.client.post(SYNC, headers=operator, json={"accountId": PROD})
    assert refused.status_code == 503 and refused.json()["requestId"]
    assert api.sender.sent == []
    # the lock was released: once the audit works again the same account syncs at once
    api.audit_log.fail = False
    again = api.client.post(SYNC, headers=operator, json={"accountId": PROD})
    assert again.status_code == 202 and len(api.sender.sent) == 1
    assert [r["outcome"] for r in api.audit_log.records] == ["started"]


# --- auth and role before the body ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [SYNC, EXPORT, "/api/inventory/accounts"])
def test_an_anonymous_malformed_body_is_401_not_422(api: Api, path: str) -> None:
    response = api.client.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_a_viewers_malformed_sync_is_403_and_audited_with_what_it_asked_for(api: Api) -> None:
    viewer = api.as_("vera", "viewer")
    garbled = api.client.post(SYNC, headers={**viewer, "Content-Type": "application/json"}, content=b"{nope")
    typed = api.client.post(SYNC, headers=viewer, json={"accountId": PROD, "extra": [1, 2]})
    assert (garbled.status_code, typed.status_code) == (403, 403)
    assert [(r["outcome"], r["parameters"]) for r in api.audit_log.records] == [
        ("forbidden", {"accountId": None}),
        ("forbidden", {"accountId": PROD}),
    ]
    assert api.sender.sent == []


def test_an_operators_malformed_sync_is_422_naming_the_field(api: Api) -> None:
    response = api.client.post(SYNC, headers=api.as_("otto", "operator"), json={"accountId": "12"})
    assert response.status_code == 422 and response.json()["details"][0]["parameter"] == "accountId"
    empty = api.client.post(SYNC, headers=api.as_("otto", "operator"))
    assert empty.status_code == 202  # no body: every enabled account


# --- body size ---------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_authentication(api: Api) -> None:
    big = b'{"filters": {"search": "' + b"x" * (70 * 1024) + b'"}}'
    response = api.client.post(EXPORT, content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large" and response.json()["requestId"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_chunked_body_over_the_limit_is_413_too(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = api.client.post(EXPORT, content=chunks(), headers=api.as_("vera", "viewer"))
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert api.audit_log.records == [] and api.exports.objects == {}


def test_the_body_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    deps.reset()
    api = Api()
    small = api.client.post(SYNC, headers=api.as_("otto", "operator"), json={"accountId": PROD, "pad": "x" * 1000})
    large = api.client.post(SYNC, headers=api.as_("otto", "operator"), json={"accountId": PROD, "pad": "x" * 3000})
    assert (small.status_code, large.status_code) == (422, 413)  # 422: the unknown field, read and refused
    deps.reset()


# --- source address and request ids --------------------------------------------------------------------------


def test_a_client_cannot_choose_its_audited_address_or_request_id(api: Api) -> None:
    headers = {**api.as_("otto", "operator"), "X-Forwarded-For": "198.51.100.7", "X-Request-Id": "my-own-id-123"}
    response = api.client.post(SYNC, headers=headers, json={"accountId": PROD})
    [record] = api.audit_log.records
    assert record["sourceIp"] == "testclient"  # the peer, not the header
    assert record["requestId"] == response.headers["x-request-id"] != "my-own-id-123"
    assert record["clientRequestId"] == "my-own-id-123"
    audit = api.client.get("/api/inventory/audit", headers=api.as_("ada", "admin")).json()
    assert audit["items"][0]["clientRequestId"] == "my-own-id-123"


def test_forwarded_for_is_believed_only_from_a_configured_proxy() -> None:
    proxies = ApiAuthSettings(trusted_proxies="10.0.0.0/8, 192.0.2.1").trusted_networks
    xff = {b"x-forwarded-for": b"203.0.113.5, 198.51.100.7"}
    # a direct client: its header is ignored
    assert client_address({"client": ("198.51.100.99", 1)}, xff, proxies) == "198.51.100.99"
    # through our proxy: the rightmost hop it appended
    assert client_address({"client": ("10.1.2.3", 1)}, xff, proxies) == "198.51.100.7"
    # through two of ours: the hops they vouch for are skipped
    two = {b"x-forwarded-for": b"203.0.113.5, 198.51.100.7, 192.0.2.1"}
    assert client_address({"client": ("10.1.2.3", 1)}, two, proxies) == "198.51.100.7"
    # no proxies configured (the default): never the header
    assert client_address({"client": ("127.0.0.1", 1)}, xff, ()) == "127.0.0.1"
    # under Lambda: API Gateway's sourceIp, whatever the headers say
    event = {"requestContext": {"http": {"sourceIp": "203.0.113.9"}}}
    assert client_address({"aws.event": event, "client": ("198.51.100.1", 0)}, xff, proxies) == "203.0.113.9"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        ApiAuthSettings(trusted_proxies="not-an-ip")


# --- tokens --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [7, {"admin": True}, [["admin"]], [1, "admin"], None])
def test_a_signed_token_with_a_strange_roles_claim_is_401(api: Api, roles: Any) -> None:
    token = signed({"roles": roles})
    with pytest.raises(AuthError):
        LocalTokenVerifier(SECRET).verify(token)
    response = api.client.get("/api/inventory/status", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_local_tokens_live_at_most_12_hours() -> None:
    now = int(time.time())
    verifier = LocalTokenVerifier(SECRET)
    assert verifier.verify(signed({"roles": ["viewer"], "iat": now, "exp": now + 12 * 3600})).user_id == "mallory"
    with pytest.raises(AuthError, match="longer"):
        verifier.verify(signed({"roles": ["viewer"], "iat": now, "exp": now + 12 * 3600 + 1}))
    no_exp = jwt.encode(
        {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "sub": "m", "iat": now, "roles": ["viewer"]}, SECRET, "HS256"
    )
    with pytest.raises(AuthError):
        verifier.verify(no_exp)
    with pytest.raises(ValueError, match="12 h"):
        mint_local_token(SECRET, "alice", "viewer", ttl_s=13 * 3600)
    assert verifier.verify(mint_local_token(SECRET, "alice", "viewer", ttl_s=12 * 3600)).user_id == "alice"


# --- headers and docs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "authorized"),
    [
        ("GET", "/api/inventory/resources", True),
        ("GET", "/api/inventory/audit", True),
        ("GET", "/api/inventory/resources", False),
        ("GET", "/healthz", False),
        ("GET", "/openapi.json", False),
        ("GET", "/nope/x.js", False),
    ],
)
def test_every_response_carries_the_security_headers(api: Api, method: str, path: str, authorized: bool) -> None:
    headers = api.as_("ada", "admin") if authorized else {}
    response = api.client.request(method, path, headers=headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    if path.startswith("/api/"):
        assert response.headers["cache-control"] == "no-store"


def test_docs_are_served_without_any_third_party_script(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert "<script>" not in page.text  # no inline script: the CSP (script from 'self') holds
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' covers scripts
    assert "'self'" in page.headers["content-security-policy"]
    bundle = api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert api.client.get("/docs/assets/index.html").status_code == 404  # only the listed assets
    assert "redoc" not in api.client.get("/redoc").text.lower()  # no ReDoc (the UI's client-route fallback, if built)


def test_docs_are_off_in_aws_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_MODE", "oidc")
    for name, value in {"OIDC_ISSUER": "https://i", "OIDC_AUDIENCE": "a", "OIDC_JWKS_URL": "https://j"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "inventory-api")
    deps.reset()
    client = TestClient(Api().client.app)
    assert client.get("/docs").status_code == 404
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
    monkeypatch.setenv("API_DOCS", "true")
    deps.reset()
    assert client.get("/docs").status_code == 200
    deps.reset()


def test_the_openapi_still_documents_the_bodies_read_after_the_role_check(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    export = schema["paths"][EXPORT]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert export["properties"]["filters"]["properties"]["region"]["anyOf"][0]["maxLength"] == 2000
    assert "$ref" not in json.dumps(export)
    sync = schema["paths"][SYNC]["post"]["requestBody"]
    assert sync["required"] is False
    assert "413" in schema["paths"][SYNC]["post"]["responses"]


def test_inventory_local_token_issues_within_the_lifetime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_cli.main import app
    from typer.testing import CliRunner

    key_file = tmp_path / "auth.key"
    monkeypatch.setenv("AUTH_LOCAL_KEY_FILE", str(key_file))
    issued = CliRunner().invoke(app, ["local", "token", "--user", "alice", "--hours", "12"])
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().splitlines()[-1]
    assert LocalTokenVerifier(load_or_create_local_key(key_file)).verify(token).user_id == "alice"
    too_long = CliRunner().invoke(app, ["local", "token", "--hours", "13"])
    assert too_long.exit_code != 0 and "12" in too_long.output
