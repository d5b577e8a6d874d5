from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from inventory_api.auth import (
    AuthError,
    LocalTokenVerifier,
    OidcTokenVerifier,
    Principal,
    Role,
    load_or_create_local_key,
    mint_local_token,
)
from inventory_api.ratelimit import InMemoryCounterStore, RateLimiter

SECRET = b"k" * 64
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
AUDIENCE = "client-123"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class StaticKeys:
    """The provider's JWKS, as the verifier sees it: the public key for the token's kid."""

    def __init__(self, keys: dict[str, Any]) -> None:
        self.keys = keys

    def key_for(self, token: str) -> Any:
        return self.keys[jwt.get_unverified_header(token)["kid"]]


def oidc_token(key: Any = RSA_KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "cognito:groups": ["viewer"], "iat": now, "exp": now + 300}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256", headers={"kid": "k1"})


OIDC = OidcTokenVerifier(StaticKeys({"k1": RSA_KEY.public_key()}), issuer=ISSUER, audience=AUDIENCE)


def test_a_locally_minted_token_names_the_user_and_role() -> None:
    token = mint_local_token(SECRET, "alice", "operator")
    assert LocalTokenVerifier(SECRET).verify(token) == Principal("alice", Role.operator)


@pytest.mark.parametrize(
    "token",
    [
        mint_local_token(b"x" * 64, "alice", "admin"),
        mint_local_token(SECRET, "alice", "admin", now=time.time() - 10_000, ttl_s=60),
        jwt.encode({"sub": "alice", "roles": ["admin"], "exp": 2**40, "iat": 1}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "a", "roles": ["admin"], "iss": "x", "aud": "y", "exp": 2**40, "iat": 1}, SECRET),
        "not.a.token",
        "",
    ],
    ids=["other key", "expired", "no issuer or audience", "wrong issuer", "garbage", "empty"],
)
def test_local_tokens_that_are_not_ours_are_refused(token: str) -> None:
    with pytest.raises(AuthError):
        LocalTokenVerifier(SECRET).verify(token)


def test_minting_an_unknown_role_fails() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        mint_local_token(SECRET, "alice", "root")


def test_the_local_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "local" / "auth-signing.key"
    first = load_or_create_local_key(path)
    assert load_or_create_local_key(path) == first
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_oidc_token_is_verified_against_the_providers_key() -> None:
    assert OIDC.verify(oidc_token(**{"cognito:groups": ["viewer", "admin"]})) == Principal("u-1", Role.admin)


@pytest.mark.parametrize(
    "token",
    [
        oidc_token(key=OTHER_KEY),
        oidc_token(iss="https://evil.example.com"),
        oidc_token(aud="another-client"),
        oidc_token(exp=int(time.time()) - 120),
        oidc_token(**{"cognito:groups": ["superuser"]}),
        oidc_token(**{"cognito:groups": None}),
        jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": 2**40, "iat": 1}, SECRET, headers={"kid": "k1"}),
    ],
    ids=["bad signature", "wrong issuer", "wrong audience", "expired", "unknown role", "no role", "hs256 downgrade"],
)
def test_oidc_tokens_failing_any_check_are_refused(token: str) -> None:
    with pytest.raises(AuthError):
        OIDC.verify(token)


def test_an_unknown_key_id_is_refused() -> None:
    token = jwt.encode({"sub": "u"}, RSA_KEY, algorithm="RS256", headers={"kid": "rotated-away"})
    with pytest.raises(AuthError, match="signing key"):
        OIDC.verify(token)


@pytest.mark.parametrize(
    ("user", "expected"),
    [("alice", "alice"), ("a@b.example", "a@b.example"), ("..", None), ("a/../bob", None), ("x" * 200, None)],
)
def test_user_ids_become_safe_s3_key_segments(user: str, expected: str | None) -> None:
    storage = Principal(user, Role.viewer).storage_id
    assert "/" not in storage and storage not in (".", "..")
    if expected:
        assert storage == expected
    else:
        assert storage.startswith("u-")


def test_the_rate_limit_allows_the_limit_per_window_per_user() -> None:
    now = [120.0]
    limiter = RateLimiter(InMemoryCounterStore(), 100, clock=lambda: now[0])
    decisions = [limiter.check("alice") for _ in range(101)]
    assert all(d.allowed for d in decisions[:100])
    assert not decisions[100].allowed
    assert decisions[100].retry_after_s == 60
    assert limiter.check("bob").allowed
    now[0] = 180.5  # the next minute
    assert limiter.check("alice").allowed
