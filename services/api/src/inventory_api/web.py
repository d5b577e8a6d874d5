"""The web UI's side of the API: who am I, how to sign in, and the built single-page app at `/`.

The UI (services/api/web) is built into a directory of static files; the API serves it from the same
origin when `WEB_DIST_DIR` names one (default: the repo's services/api/web/dist when it exists), so the
browser needs no CORS and the Lambda serves the UI too. Paths the app does not have fall back to
index.html (client-side routes such as /accounts); /api/ paths never do. Nothing is read from the
environment or the disk until the first request.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from inventory_core.settings import BaseInventorySettings
from pydantic import Field

from inventory_api.auth import Role
from inventory_api.deps import Viewer, auth_settings
from inventory_api.routes.inventory import COMMON_ERRORS
from inventory_api.schemas import ApiModel
from inventory_api.settings import ApiAuthSettings

# services/api/src/inventory_api/web.py -> services/api/web/dist (exists in a checkout after the UI build)
REPO_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


class WebSettings(BaseInventorySettings):
    """Where the built UI is and how a browser signs in with OIDC (authorization code + PKCE)."""

    web_dist_dir: Path | None = Field(default=None, description="Built UI directory (WEB_DIST_DIR).")
    oidc_client_id: str | None = Field(default=None, description="Public app client id (no secret).")
    oidc_authorize_url: str | None = None
    oidc_token_url: str | None = None
    oidc_scopes: str = "openid email profile"

    def dist_dir(self) -> Path | None:
        """The directory to serve, or None (no UI): WEB_DIST_DIR, else the checkout's build output."""
        candidate = self.web_dist_dir or REPO_DIST
        return candidate if (candidate / "index.html").is_file() else None


@cache
def web_settings() -> WebSettings:
    return WebSettings()


class OidcConfig(ApiModel):
    issuer: str | None
    clientId: str
    authorizeUrl: str
    tokenUrl: str
    scopes: str


class UiConfig(ApiModel):
    authMode: Literal["local", "oidc"]
    oidc: OidcConfig | None = Field(description="Set when authMode is oidc and the sign-in is configured.")


class Me(ApiModel):
    user: str
    role: str
    roles: list[str] = Field(description="Every role the caller holds (each includes the ones below it).")


router = APIRouter(prefix="/api/inventory", tags=["ui"], responses=COMMON_ERRORS)


@router.get("/me", response_model=Me)
def me(who: Viewer) -> Me:
    return Me(user=who.user_id, role=who.role.name, roles=[r.name for r in Role if r <= who.role])


@router.get("/config", response_model=UiConfig)
def config(
    auth: Annotated[ApiAuthSettings, Depends(auth_settings)],
    web: Annotated[WebSettings, Depends(web_settings)],
) -> UiConfig:
    """Public: how the UI signs in. Carries no secret (a PKCE client has none)."""
    oidc = None
    if auth.auth_mode == "oidc" and web.oidc_client_id and web.oidc_authorize_url and web.oidc_token_url:
        oidc = OidcConfig(
            issuer=auth.oidc_issuer,
            clientId=web.oidc_client_id,
            authorizeUrl=web.oidc_authorize_url,
            tokenUrl=web.oidc_token_url,
            scopes=web.oidc_scopes,
        )
    return UiConfig(authMode=auth.auth_mode, oidc=oidc)


static_router = APIRouter(include_in_schema=False)


def _file_in(root: Path, path: str) -> Path | None:
    """The file `path` names under root, or None; never a file outside root."""
    if not path:
        return None
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        return None
    return target


@static_router.get("/{path:path}")
def serve_ui(path: str, web: Annotated[WebSettings, Depends(web_settings)]) -> FileResponse:
    root = web.dist_dir()
    if root is None or path == "api" or path.startswith("api/"):
        raise HTTPException(404, "not found")
    found = _file_in(root, path)
    if found is not None:
        # Vite names assets by content hash: cache them for a year; everything else revalidates.
        immutable = path.startswith("assets/")
        return FileResponse(
            found, headers={"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
        )
    if "." in path.rsplit("/", 1)[-1]:
        raise HTTPException(404, "not found")  # a missing file (favicon.ico, x.js), not a client route
    return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache", **_page_headers(web)})


def _page_headers(web: WebSettings) -> dict[str, str]:
    """The page may talk to its own origin and, with OIDC, to the token endpoint; nothing else."""
    connect = "'self'"
    if web.oidc_token_url:
        scheme, _, rest = web.oidc_token_url.partition("://")
        connect += f" {scheme}://{rest.split('/', 1)[0]}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; connect-src {connect}; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def reset() -> None:
    web_settings.cache_clear()
