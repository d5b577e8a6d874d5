"""The FastAPI app: one object for uvicorn locally and Mangum under Lambda."""

from __future__ import annotations

from fastapi import FastAPI

from inventory_api.routes import inventory
from inventory_api.schemas import Health


def create_app() -> FastAPI:
    app = FastAPI(title="AWS Auto-Discovery", version="0.1.0", docs_url="/docs")

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        return Health(status="ok")

    app.include_router(inventory.router)
    return app
