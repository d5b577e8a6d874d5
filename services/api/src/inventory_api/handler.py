"""Lambda entry point of the API (API Gateway -> Mangum -> the same FastAPI app)."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from inventory_api.main import create_app

_handler = Mangum(create_app(), lifespan="off")


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return _handler(event, context)
