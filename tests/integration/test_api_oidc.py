"""AUTH_MODE=oidc: the API fetches the provider's JWKS over HTTP and checks every claim."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from inventory_api import deps
from inventory_api.main import create_app

from tests.conftest import Stack

pytestmark = pytest.mark.emulator
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
IMPOSTOR = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER = "https://idp.example.test/pool-1"
AUDIENCE = "inventory-web"


@pytest.fixture
def jwks_url() -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()
    requests: list[str] = []

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def token(key: Any = KEY, kid: str = "key-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-7",
        "cognito:groups": ["admin"],
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode({**payload, **claims}, key, algorithm="RS256", headers={"kid": kid})


def test_oidc_tokens_are_checked_against_the_providers_jwks(
    stack: Stack, jwks_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the API configured for an OIDC provider
    monkeypatch.setenv("AUTH_MODE", "oidc")
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("OIDC_JWKS_URL", jwks_url)
    deps.reset()
    client = TestClient(create_app(), raise_server_exceptions=False)

    def status(bearer: str) -> int:
        return client.get("/api/inventory/status", headers={"Authorization": f"Bearer {bearer}"}).status_code

    try:
        # THEN a token the provider signed is accepted, with its group as the role
        assert status(token()) == 200
        assert client.get("/api/inventory/audit", headers={"Authorization": f"Bearer {token()}"}).status_code == 200
        # AND anything else is refused
        assert status(token(key=IMPOSTOR)) == 401
        assert status(token(kid="unknown")) == 401
        assert status(token(iss="https://evil.test")) == 401
        assert status(token(aud="other-app")) == 401
        assert status(token(exp=int(time.time()) - 300)) == 401
        groups: dict[str, Any] = {"cognito:groups": ["viewer"]}
        assert status(token(**groups)) == 200
        viewer = {"Authorization": f"Bearer {token(**groups)}"}
        assert client.get("/api/inventory/audit", headers=viewer).status_code == 403
    finally:
        deps.reset()
