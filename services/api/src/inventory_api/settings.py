from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inventory_core.settings import BaseInventorySettings, BucketSettings, TableSettings
from inventory_core.topology import SCAN_SCHEDULE_EXPRESSION
from pydantic import Field, field_validator, model_validator

from inventory_api.schedule import parse_schedule


def default_local_key_file() -> Path:
    """Where `inventory local token` keeps the local signing key (the CLI's state dir)."""
    return Path(os.environ.get("INVENTORY_STATE_DIR", ".inventory")) / "local" / "auth-signing.key"


class ApiAuthSettings(BaseInventorySettings):
    """Who may call the API and how often; needs no AWS resource, so a 401 never depends on them."""

    # Authentication: `local` verifies HS256 tokens minted by `inventory local token`; `oidc` verifies an
    # OIDC provider's RS256/ES256 JWTs against its JWKS (Cognito or any).
    auth_mode: Literal["local", "oidc"] = "local"
    auth_local_key_file: Path = Field(default_factory=default_local_key_file)
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_roles_claim: str = Field(default="cognito:groups", description="Claim holding the user's roles (list or str).")
    oidc_user_claim: str = Field(default="sub", description="Claim naming the user (exports/{userId}/, audit actor).")

    rate_limit_per_minute: int = Field(default=100, ge=1)
    rate_limit_store: Literal["memory", "dynamodb"] = "memory"

    # The HTTP edge (edge.py), read on the first request.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024, description="413 above this.")
    trusted_proxies: str = Field(
        default="",
        description="Comma list of proxy addresses/CIDRs whose X-Forwarded-For is believed (default: none).",
    )
    api_docs: bool | None = Field(default=None, description="Serve /docs; default on locally, off in AWS.")

    # Set by the platform, never by us: they tell that the API runs in AWS (Lambda or an ECS task).
    aws_lambda_function_name: str | None = None
    ecs_container_metadata_uri_v4: str | None = None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"TRUSTED_PROXIES: {part.strip()!r} is not an address or CIDR") from exc
        return value

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def in_aws(self) -> bool:
        return bool(self.aws_lambda_function_name or self.ecs_container_metadata_uri_v4)

    @property
    def docs_enabled(self) -> bool:
        return (not self.in_aws) if self.api_docs is None else self.api_docs

    @model_validator(mode="after")
    def _no_local_auth_in_aws(self) -> ApiAuthSettings:
        # Local tokens are signed with a key file anyone on the host can mint with: never in a deployment.
        runtime = "Lambda" if self.aws_lambda_function_name else "ECS" if self.ecs_container_metadata_uri_v4 else None
        if self.auth_mode == "local" and runtime:
            raise ValueError(f"AUTH_MODE=local is refused when running in {runtime}: set AUTH_MODE=oidc and OIDC_*")
        return self

    @model_validator(mode="after")
    def _oidc_is_complete(self) -> ApiAuthSettings:
        if self.auth_mode == "oidc":
            missing = [
                name
                for name, value in (
                    ("OIDC_ISSUER", self.oidc_issuer),
                    ("OIDC_AUDIENCE", self.oidc_audience),
                    ("OIDC_JWKS_URL", self.oidc_jwks_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"AUTH_MODE=oidc needs {', '.join(missing)}")
        return self


class ApiSettings(ApiAuthSettings, TableSettings, BucketSettings):
    """Query service configuration, read from the environment."""

    audit_table_name: str = Field(min_length=1, description="Append-only audit table (AUDIT_TABLE_NAME).")
    scan_requests_queue_url: str = Field(min_length=1, description="The scanner's queue (SCAN_REQUESTS_QUEUE_URL).")

    role_name: str = Field(
        default="NucleusAccess-Inventory", description="Role assumed in an account that names none (ROLE_NAME)."
    )

    sync_schedule_expression: str = SCAN_SCHEDULE_EXPRESSION
    sync_schedule_timezone: str = "UTC"
    sync_lock_ttl_s: int = Field(default=4 * 3600, ge=60, description="A sync lock older than this is stale.")

    export_url_ttl_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)

    # The grid's read model (readmodel.py): the projector's published snapshot (or, without one, a table read)
    # is used for `read_model_ttl_s` before asking for a newer one (0 = every request), and the change journal
    # is re-read on the request path at most every `read_model_refresh_s` (a change shows within that + ~1 s).
    read_model_ttl_s: float = Field(default=60.0, ge=0)
    read_model_refresh_s: float = Field(default=1.0, ge=0, le=4)
    read_model_parallelism: int = Field(default=8, ge=1, le=64, description="Partitions read at once on a reload.")

    @field_validator("sync_schedule_expression")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        parse_schedule(value)  # a wrong expression fails at start, with its reason
        return value

    @field_validator("sync_schedule_timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
