"""One error shape for every failure: {error, message, requestId, details?}; never a stack trace."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inventory_api.ports import StoreError
from inventory_api.schemas import ErrorBody, ErrorDetail
from inventory_api.service import ConflictError, NotFoundError

logger = logging.getLogger("inventory_api")
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    status: int,
    message: str,
    *,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=_CODES.get(status, "error"), message=message, requestId=REQUEST_ID.get(), details=details)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[ErrorDetail]:
    details = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "request"
        parameter = ".".join(loc[1:]) or location
        details.append(ErrorDetail(parameter=parameter, location=location, reason=str(error.get("msg", "invalid"))))
    return details


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p))


def allowed_methods(app: FastAPI, path: str) -> str:
    """Every method the OpenAPI document lists for the path (the Allow header of a 405)."""
    for template, operations in app.openapi().get("paths", {}).items():
        if _path_pattern(template).fullmatch(path):
            return ", ".join(sorted(m.upper() for m in operations if m in _HTTP_METHODS))
    return ""


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        summary = "; ".join(f"{d.parameter}: {d.reason}" for d in details)
        return error_response(422, f"invalid request: {summary}"[:1000], details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route of the path; a path may have one route per method.
            headers["Allow"] = allowed_methods(app, request.url.path) or headers.get("Allow", "")
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(_request: Request, exc: ConflictError) -> JSONResponse:
        return error_response(409, str(exc))

    @app.exception_handler(StoreError)
    async def _unavailable(_request: Request, exc: StoreError) -> JSONResponse:
        logger.error("backing store failed", extra={"request_id": REQUEST_ID.get(), "error": str(exc)[:500]})
        return error_response(503, "a backing service is unavailable; retry later", headers={"Retry-After": "5"})


class RequestContextMiddleware:
    """Gives each request an id (X-Request-Id), logs it, and turns any unhandled error into a JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        aws_context = scope.get("aws.context")
        request_id = (
            incoming
            if _VALID_REQUEST_ID.match(incoming)
            else str(getattr(aws_context, "aws_request_id", "") or uuid.uuid4().hex)
        )
        token = REQUEST_ID.set(request_id)
        started = time.monotonic()
        status: dict[str, Any] = {"code": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope.get("path")},
            )
            if status["code"] is None:
                body = ErrorBody(error="internal_error", message="internal server error", requestId=request_id)
                payload = json.dumps(body.model_dump(exclude_none=True)).encode()
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                        ],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": payload})
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
            REQUEST_ID.reset(token)
