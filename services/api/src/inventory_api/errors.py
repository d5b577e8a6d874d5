"""One error shape for every failure: {error, message, requestId, details?}; never a stack trace."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from inventory_api.ports import StoreError
from inventory_api.schemas import ErrorBody, ErrorDetail
from inventory_api.service import ConflictError, NotFoundError

logger = logging.getLogger("inventory_api")
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
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


def error_payload(
    status: int, message: str, *, error: str | None = None, details: list[ErrorDetail] | None = None
) -> dict[str, Any]:
    """The error body of every failure, with the server's request id."""
    body = ErrorBody(
        error=error or _CODES.get(status, "error"), message=message, requestId=REQUEST_ID.get(), details=details
    )
    return body.model_dump(exclude_none=True)


def error_response(
    status: int,
    message: str,
    *,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_payload(status, message, details=details), status_code=status, headers=headers)


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
