"""/docs: Swagger UI from the assets the swagger-ui-bundle package ships, never from a CDN.

Its page loads only same-origin scripts (no inline script), so the edge's default CSP holds. On by default
locally, off in AWS (API_DOCS overrides): the bundled Swagger UI is not on the deployed attack surface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

from inventory_api.deps import auth_settings
from inventory_api.settings import ApiAuthSettings

router = APIRouter(include_in_schema=False)
_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"})
_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>AWS Auto-Discovery API</title>
    <link rel="stylesheet" type="text/css" href="/docs/assets/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/init.js" charset="UTF-8"></script>
  </body>
</html>
"""
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


def _enabled(settings: Annotated[ApiAuthSettings, Depends(auth_settings)]) -> None:
    if not settings.docs_enabled:
        raise HTTPException(404, "not found")


def _assets_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # only when docs are served

    return Path(str(swagger_ui_path))


@router.get("/docs", dependencies=[Depends(_enabled)])
def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/docs/init.js", dependencies=[Depends(_enabled)])
def docs_init() -> Response:
    return Response(_INIT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}", dependencies=[Depends(_enabled)])
def docs_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise HTTPException(404, "not found")
    return FileResponse(_assets_dir() / name, headers={"Cache-Control": "public, max-age=86400"})
