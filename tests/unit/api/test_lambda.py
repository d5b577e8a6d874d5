"""The same app under Lambda: an API Gateway (HTTP API) event through Mangum."""

from __future__ import annotations

import json
from typing import Any

from inventory_api.handler import lambda_handler


def http_api_event(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.test", **(headers or {})},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "apigw-1",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


class Context:
    aws_request_id = "lambda-request-0001"


def test_health_answers_through_api_gateway() -> None:
    response = lambda_handler(http_api_event("/healthz"), Context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_without_a_token_lambda_answers_401_with_the_lambda_request_id() -> None:
    response = lambda_handler(http_api_event("/api/inventory/resources"), Context())
    assert response["statusCode"] == 401
    body = json.loads(response["body"])
    assert (body["error"], body["requestId"]) == ("unauthorized", "lambda-request-0001")
