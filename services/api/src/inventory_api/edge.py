"""The HTTP edge: what every request passes before a route sees it.

One ASGI middleware, outermost, so even its own refusals carry the same headers and request id:

- the server's request id (the Lambda request id, else a new one) in X-Request-Id and every log line and
  error body; a client-sent X-Request-Id is kept apart (CLIENT_REQUEST_ID, the audit's clientRequestId);
- the caller's address: API Gateway's requestContext sourceIp under Lambda, else the socket peer, and an
  X-Forwarded-For hop only when the peer is a configured proxy (TRUSTED_PROXIES, default none);
- a body over MAX_BODY_BYTES is refused with 413 before any route reads it, with or without
  Content-Length (a chunked body is counted as it arrives);
- security headers on every response, and Cache-Control: no-store on /api (data and audit).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inventory_api.errors import REQUEST_ID, error_payload

logger = logging.getLogger("inventory_api")
CLIENT_REQUEST_ID: ContextVar[str | None] = ContextVar("client_request_id", default=None)
_VALID_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The built UI sets its own, narrower page policy (web.py); this one covers /docs and everything else.
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", DEFAULT_CSP.encode()),
)

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class EdgeConfig:
    max_body_bytes: int
    trusted_proxies: tuple[Network, ...] = ()


class BodyTooLargeError(Exception):
    pass


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(scope: Scope, headers: dict[bytes, bytes], proxies: tuple[Network, ...]) -> str | None:
    """The caller's address as far as it can be known, never as the caller claims it."""
    event = scope.get("aws.event")
    if isinstance(event, dict):  # under Lambda: the address API Gateway saw
        context = event.get("requestContext") or {}
        source = (context.get("http") or {}).get("sourceIp") or (context.get("identity") or {}).get("sourceIp")
        return str(source) if source else None
    peer = scope.get("client")
    address = str(peer[0]) if peer else None
    if address is None or not proxies or not _trusted(address, proxies):
        return address
    # Walk the proxies' own appended hops from the right; the first hop no proxy of ours vouches for is the client.
    hops = [h.strip() for h in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop if _is_ip(hop) else address
        address = hop
    return address


def _is_ip(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, config: Callable[[], EdgeConfig]) -> None:
        self.app = app
        self._config = config  # read on the first request, not when the app is built

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        aws_context = scope.get("aws.context")
        request_id = str(getattr(aws_context, "aws_request_id", "") or uuid.uuid4().hex)
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        token = REQUEST_ID.set(request_id)
        client_token = CLIENT_REQUEST_ID.set(incoming if _VALID_CLIENT_ID.match(incoming) else None)
        started = time.monotonic()
        status: dict[str, Any] = {"code": None}
        no_store = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                own = [
                    (n, v) for n, v in message.get("headers", []) if not (no_store and n.lower() == b"cache-control")
                ]
                present = {n.lower() for n, _ in own}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if no_store:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*own, *extra, (b"x-request-id", request_id.encode())]
            await send(message)

        async def refuse(code: int, error: str, text: str) -> None:
            payload = json.dumps(error_payload(code, text, error=error)).encode()
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": code,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send_with_headers({"type": "http.response.body", "body": payload})

        try:
            config = self._config()
            scope["client"] = (client_address(scope, headers, config.trusted_proxies), 0)
            body_receive = receive
            if scope.get("method") in _BODY_METHODS:
                try:
                    body_receive = await _buffered(receive, headers, config.max_body_bytes)
                except BodyTooLargeError:
                    await refuse(413, "too_large", f"the request body is over {config.max_body_bytes} bytes")
                    return
            await self.app(scope, body_receive, send_with_headers)
        except Exception:
            logger.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope.get("path")},
            )
            if status["code"] is None:
                await refuse(500, "internal_error", "internal server error")
                status["code"] = 500
        finally:
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            CLIENT_REQUEST_ID.reset(client_token)
            REQUEST_ID.reset(token)


async def _buffered(receive: Receive, headers: dict[bytes, bytes], limit: int) -> Receive:
    """Read the whole body (at most ``limit`` bytes) before the app runs; replay it to the app."""
    declared = headers.get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the app see it
            first: Message | None = message
            break
        size += len(message.get("body", b""))
        if size > limit:
            raise BodyTooLargeError
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break
    pending: list[Message] = [first] if first else []

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
