"""Bearer tokens: who the caller is and what role they hold (TRD section 7).

Two verifiers behind one port: OIDC JWTs checked against the provider's JWKS (signature, issuer,
audience, expiry) in AWS, and HS256 tokens signed with a local key for a laptop. Tokens and keys are
never logged.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

import jwt

LOCAL_ISSUER = "inventory-local"
LOCAL_AUDIENCE = "inventory-api"
LOCAL_ALGORITHM = "HS256"
# A local token is a bearer secret on a laptop: it lives at most a working day (`inventory local token`
# issues 8 h by default); a longer-lived or exp-less one is refused even when correctly signed.
LOCAL_MAX_TTL_S = 12 * 3600
OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_SAFE_USER = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")


class AuthError(Exception):
    """The token is missing, malformed, expired, or not signed by whom we trust."""


class Role(IntEnum):
    """Roles in increasing power: each includes the rights of the ones below."""

    viewer = 1  # read, export
    operator = 2  # + sync
    admin = 3  # + audit log, analytics SQL


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: Role

    @property
    def storage_id(self) -> str:
        """The user id as an S3 key segment: as is when harmless, else a digest (no '/', no '..')."""
        if _SAFE_USER.match(self.user_id) and self.user_id not in (".", ".."):
            return self.user_id
        return "u-" + sha256(self.user_id.encode()).hexdigest()[:32]


class TokenVerifier(Protocol):
    """Port: turns a bearer token into a principal; raises AuthError for any token it does not trust."""

    def verify(self, token: str) -> Principal: ...


class KeySource(Protocol):
    """Port: the signing key a JWT names in its header (the provider's JWKS)."""

    def key_for(self, token: str) -> Any: ...


def highest_role(value: Any) -> Role:
    """The strongest known role among a claim's values (a list of strings, or a comma/space separated string).

    Any other shape (a number, an object, a list holding non-strings) is refused: a signed token is
    trusted for what it says, not for what a parser can make of it.
    """
    if isinstance(value, str):
        names = re.split(r"[,\s]+", value)
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = value
    else:
        raise AuthError(f"roles claim has an unexpected type ({type(value).__name__})")
    roles = [Role[name] for name in names if name in Role.__members__]
    if not roles:
        raise AuthError("token carries no known role")
    return max(roles)


def _principal(claims: dict[str, Any], user_claim: str, roles_claim: str) -> Principal:
    user = claims.get(user_claim)
    if not isinstance(user, str) or not user:
        raise AuthError(f"token has no {user_claim} claim")
    return Principal(user_id=user, role=highest_role(claims.get(roles_claim)))


def _decode(token: str, key: Any, algorithms: list[str], issuer: str, audience: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "iss", "sub"]},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise AuthError(type(exc).__name__) from exc
    return claims


class LocalTokenVerifier:
    """HS256 tokens minted by `inventory local token` with the key in the local state dir.

    The key is a value, or a loader called on the first token (so no request without a token
    touches the file system).
    """

    def __init__(self, secret: bytes | Callable[[], bytes]) -> None:
        self._secret = secret

    def _key(self) -> bytes:
        if callable(self._secret):
            self._secret = self._secret()
        return self._secret

    def verify(self, token: str) -> Principal:
        claims = _decode(token, self._key(), [LOCAL_ALGORITHM], LOCAL_ISSUER, LOCAL_AUDIENCE)
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise AuthError("token has no numeric iat/exp")
        if expires - issued > LOCAL_MAX_TTL_S:
            raise AuthError(f"local token lives longer than {LOCAL_MAX_TTL_S // 3600} h")
        return _principal(claims, "sub", "roles")


class OidcTokenVerifier:
    """JWTs of an OIDC provider: signature against its JWKS, issuer, audience, expiry.

    With Cognito, send the ID token (its aud is the app client id).
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        roles_claim: str = "cognito:groups",
        user_claim: str = "sub",
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._roles_claim = roles_claim
        self._user_claim = user_claim

    def verify(self, token: str) -> Principal:
        try:
            key = self._keys.key_for(token)
        except AuthError:
            raise
        except Exception as exc:  # a JWKS that cannot be fetched or has no such kid: refuse, never let through
            raise AuthError("signing key not found") from exc
        claims = _decode(token, key, OIDC_ALGORITHMS, self._issuer, self._audience)
        return _principal(claims, self._user_claim, self._roles_claim)


class JwksKeySource:
    """The provider's JWKS over HTTPS, cached by PyJWT (keys rotate rarely; unknown kids trigger a refetch)."""

    def __init__(self, jwks_url: str) -> None:
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=600, timeout=5)

    def key_for(self, token: str) -> Any:
        return self._client.get_signing_key_from_jwt(token).key


def load_or_create_local_key(path: Path) -> bytes:
    """Return the local HS256 key, creating it (32 random bytes, mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    key = path.read_text().strip().encode()
    if len(key) < 32:
        raise AuthError(f"local signing key {path} is too short")
    return key


def mint_local_token(secret: bytes, user: str, role: str, *, ttl_s: int = 8 * 3600, now: float | None = None) -> str:
    """A token the local verifier accepts: sub=user, roles=[role], valid for ttl_s seconds."""
    if role not in Role.__members__:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(Role.__members__)}")
    if not 0 < ttl_s <= LOCAL_MAX_TTL_S:
        raise ValueError(f"a local token lives at most {LOCAL_MAX_TTL_S // 3600} h")
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": user,
        "roles": [role],
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=LOCAL_ALGORITHM)
