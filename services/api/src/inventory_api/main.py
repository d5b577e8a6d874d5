"""The FastAPI app: one object for uvicorn locally and Mangum under Lambda."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from inventory_api import deps, docs, web
from inventory_api.edge import EdgeMiddleware
from inventory_api.errors import install_error_handlers
from inventory_api.routes import accounts, analytics, inventory, resource_history
from inventory_api.schemas import Health


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    deps.warm_up()  # when a server starts the app (uvicorn); not on import, not in TestClient without `with`
    yield


def create_app() -> FastAPI:
    """Build the app; nothing is read from the environment until the server starts it or the first request."""
    app = FastAPI(
        lifespan=_lifespan,
        title="AWS Auto-Discovery",
        version="0.2.0",
        docs_url=None,  # docs.py serves /docs from packaged assets (no CDN script); no /redoc
        redoc_url=None,
        description="Inventory of every resource of many AWS accounts. Every route but /healthz needs a bearer token.",
    )

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        return Health(status="ok")

    app.include_router(inventory.router)
    app.include_router(analytics.router)
    app.include_router(accounts.router)
    app.include_router(resource_history.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.include_router(web.static_router)  # last: the UI at / (when built), client routes fall back to index.html
    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware, config=deps.edge_config)  # outermost: ids, address, body cap, headers
    return app
