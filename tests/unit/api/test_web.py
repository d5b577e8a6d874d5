"""The UI's side of the API: /me, the public /config, and the built app served at / with a fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from inventory_api import deps, web
from inventory_api.auth import LocalTokenVerifier, mint_local_token
from inventory_api.main import create_app
from inventory_api.ratelimit import InMemoryCounterStore, RateLimiter

SECRET = b"w" * 64


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    return root


def client(monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    for key in ("WEB_DIST_DIR", "AUTH_MODE", "OIDC_CLIENT_ID", "OIDC_AUTHORIZE_URL", "OIDC_TOKEN_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    web.reset()
    deps.reset()
    app = create_app()
    app.dependency_overrides.update(
        {
            deps.token_verifier: lambda: LocalTokenVerifier(SECRET),
            deps.rate_limiter: lambda: RateLimiter(InMemoryCounterStore(), 1000),
        }
    )
    return TestClient(app, raise_server_exceptions=False)


def bearer(role: str, user: str = "ada") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_local_token(SECRET, user, role)}"}


def test_me_names_the_user_and_every_role_they_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    api = client(monkeypatch)
    assert api.get("/api/inventory/me").status_code == 401
    assert api.get("/api/inventory/me", headers=bearer("operator")).json() == {
        "user": "ada",
        "role": "operator",
        "roles": ["viewer", "operator"],
    }
    assert api.get("/api/inventory/me", headers=bearer("viewer")).json()["roles"] == ["viewer"]


def test_config_is_public_and_carries_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client(monkeypatch).get("/api/inventory/config").json() == {"authMode": "local", "oidc": None}
    api = client(
        monkeypatch,
        AUTH_MODE="oidc",
        OIDC_ISSUER="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
        OIDC_AUDIENCE="client-1",
        OIDC_JWKS_URL="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/jwks.json",
        OIDC_CLIENT_ID="client-1",
        OIDC_AUTHORIZE_URL="https://auth.example.com/oauth2/authorize",
        OIDC_TOKEN_URL="https://auth.example.com/oauth2/token",
    )
    body = api.get("/api/inventory/config").json()
    assert body["authMode"] == "oidc"
    assert body["oidc"] == {
        "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
        "clientId": "client-1",
        "authorizeUrl": "https://auth.example.com/oauth2/authorize",
        "tokenUrl": "https://auth.example.com/oauth2/token",
        "scopes": "openid email profile",
    }


def test_serves_the_built_ui_with_a_client_route_fallback(monkeypatch: pytest.MonkeyPatch, dist: Path) -> None:
    api = client(monkeypatch, WEB_DIST_DIR=str(dist), OIDC_TOKEN_URL="https://auth.example.com/oauth2/token")
    index = api.get("/")
    assert index.status_code == 200 and "<div id=root>" in index.text
    assert index.headers["cache-control"] == "no-cache"
    assert "connect-src 'self' https://auth.example.com;" in index.headers["content-security-policy"]
    asset = api.get("/assets/app-1234.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert "<div id=root>" in api.get("/accounts").text  # a client-side route
    assert "<div id=root>" in api.get("/scans/abc").text
    assert api.get("/assets/missing.js").status_code == 404
    assert api.get("/../secret.txt").status_code == 404
    assert api.get("/%2e%2e/secret.txt").status_code == 404
    unknown_api = api.get("/api/inventory/nothing-here")
    assert unknown_api.status_code == 404 and unknown_api.json()["error"] == "not_found"
    assert api.get("/healthz").json() == {"status": "ok"}
    assert "/{path}" not in api.get("/openapi.json").json()["paths"]


def test_no_ui_without_a_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    api = client(monkeypatch, WEB_DIST_DIR=str(tmp_path / "nothing"))
    response = api.get("/")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
