"""A local OIDC provider shaped like a Cognito user pool's hosted UI, for the browser's sign-in test.

moto 5.2.5 serves a pool's JWKS and openid-configuration but not the hosted UI's /oauth2/authorize and
/oauth2/token, so the UI's authorization code + PKCE flow cannot run against it. This provider does what the
hosted UI does for a public app client: a sign-in page at /oauth2/authorize (response_type=code, S256
challenge, registered redirect URI), a one-time code for the redirect, /oauth2/token that checks the client,
the redirect URI and the PKCE verifier (and refuses a client secret), and RS256 ID tokens with Cognito's
claims (iss = <base>/<pool id>, aud = client id, token_use=id, cognito:username, cognito:groups) whose keys
are published at <issuer>/.well-known/jwks.json. It records every token request for the test to inspect.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

POOL_ID = "us-east-1_LocalPool"
KID = "local-key-1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class OidcProvider:
    base_url: str
    client_id: str
    redirect_uris: list[str]
    users: dict[str, list[str]]  # username -> groups
    key: rsa.RSAPrivateKey
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    subs: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/{POOL_ID}"

    def api_env(self) -> dict[str, str]:
        """What the API needs for AUTH_MODE=oidc against this provider (as the stack sets it for Cognito)."""
        return {
            "AUTH_MODE": "oidc",
            "OIDC_ISSUER": self.issuer,
            "OIDC_AUDIENCE": self.client_id,
            "OIDC_JWKS_URL": f"{self.issuer}/.well-known/jwks.json",
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_AUTHORIZE_URL": f"{self.base_url}/oauth2/authorize",
            "OIDC_TOKEN_URL": f"{self.base_url}/oauth2/token",
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def id_token(self, user: str, ttl_s: int = 3600) -> str:
        now = int(time.time())
        sub = self.subs.setdefault(user, str(uuid.uuid4()))
        claims = {
            "sub": sub,
            "aud": self.client_id,
            "iss": self.issuer,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + ttl_s,
            "cognito:username": user,
            "cognito:groups": self.users[user],
            "email": f"{user}@example.com",
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})

    def authorize(self, q: dict[str, str]) -> tuple[int, bytes, str, dict[str, str]]:
        """GET /oauth2/authorize: check the request like Cognito, then show the sign-in form."""
        checks = {
            "response_type": q.get("response_type") == "code",
            "client_id": q.get("client_id") == self.client_id,
            "redirect_uri": q.get("redirect_uri") in self.redirect_uris,
            "code_challenge_method": q.get("code_challenge_method") == "S256",
            "code_challenge": len(q.get("code_challenge", "")) == 43,
        }
        problems = [name for name, ok in checks.items() if not ok]
        if problems:
            return 400, f"invalid_request: {', '.join(problems)}".encode(), "text/plain", {}
        kept = ("client_id", "redirect_uri", "state", "code_challenge", "scope")
        fields = [(k, html.escape(v)) for k, v in q.items() if k in kept]
        hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields)
        page = (
            "<!doctype html><title>Sign in</title><h1>Local user pool</h1>"
            f'<form method="post" action="/login">{hidden}'
            '<label>Username <input name="username" autocomplete="username"></label>'
            '<button type="submit">Sign in</button></form>'
        )
        return 200, page.encode(), "text/html; charset=utf-8", {}

    def login(self, form: dict[str, str]) -> tuple[int, bytes, str, dict[str, str]]:
        """POST /login: a known user gets a one-time code on the redirect back to the app."""
        user = form.get("username", "")
        if user not in self.users or form.get("redirect_uri") not in self.redirect_uris:
            return 401, b"unknown user", "text/plain", {}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {**form, "user": user, "expires": time.time() + 60}
        target = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}"
        return 302, b"", "text/plain", {"Location": target}

    def token(self, form: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes, str, dict[str, str]]:
        """POST /oauth2/token: the code once, for its client and redirect URI, with the PKCE verifier, no secret."""
        cors = {"Access-Control-Allow-Origin": headers.get("Origin") or "*"}  # as Cognito answers the app's origin
        grant = self.codes.pop(form.get("code", ""), None)  # one use only
        challenge = _b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        record = {
            "client_secret_sent": "client_secret" in form or "Authorization" in headers,
            "verifier_ok": grant is not None and challenge == grant["code_challenge"],
            "form_keys": sorted(form),
        }
        self.token_requests.append(record)
        valid = (
            grant is not None
            and grant["expires"] >= time.time()
            and form.get("grant_type") == "authorization_code"
            and form.get("client_id") == self.client_id
            and form.get("redirect_uri") == grant["redirect_uri"]
            and not record["client_secret_sent"]
            and record["verifier_ok"]
        )
        if not valid or grant is None:
            return 400, json.dumps({"error": "invalid_grant"}).encode(), "application/json", cors
        token = self.id_token(grant["user"])
        body = {"id_token": token, "access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        return 200, json.dumps(body).encode(), "application/json", cors


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, reply: tuple[int, bytes, str, dict[str, str]]) -> None:
            status, body, content_type, extra = reply
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == f"/{POOL_ID}/.well-known/jwks.json":
                self._send((200, json.dumps(provider.jwks()).encode(), "application/json", {}))
            elif url.path == "/oauth2/authorize":
                self._send(provider.authorize({k: v[0] for k, v in parse_qs(url.query).items()}))
            else:
                self._send((404, b"not found", "text/plain", {}))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/login":
                self._send(provider.login(form))
            elif self.path == "/oauth2/token":
                self._send(provider.token(form, dict(self.headers.items())))
            else:
                self._send((404, b"not found", "text/plain", {}))

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def oidc_provider(client_id: str, redirect_uris: list[str], users: dict[str, list[str]]) -> Iterator[OidcProvider]:
    """The provider on a free 127.0.0.1 port for the duration of the block."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider = OidcProvider("", client_id, redirect_uris, users, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
