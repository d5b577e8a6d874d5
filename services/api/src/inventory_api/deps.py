"""Dependencies of the routes: services and adapters built once from settings (the composition root)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from inventory_core.aws import AwsClientFactory
from inventory_core.settings import IcebergSettings, RegionSettings
from pydantic import BaseModel, ValidationError

from inventory_api.accounts import AccountService
from inventory_api.adapters.duckdb_summary import DuckDbSummarySource
from inventory_api.adapters.dynamodb_accounts import DynamoDbAccountStore
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_api.adapters.dynamodb_counter import DynamoDbCounterStore
from inventory_api.adapters.dynamodb_reader import DynamoDbInventoryReader
from inventory_api.adapters.dynamodb_scan_history import DynamoDbScanHistory
from inventory_api.adapters.dynamodb_scans import DynamoDbScanStore
from inventory_api.adapters.grid_snapshot import DynamoDbChangeJournal, S3GridSnapshotSource
from inventory_api.adapters.s3_exports import S3ExportStore
from inventory_api.adapters.sqs_scan_requests import SqsScanRequestSender
from inventory_api.adapters.sts_access_check import StsAccessChecker
from inventory_api.analytics import AnalyticsService
from inventory_api.audit import Actor, AuditService
from inventory_api.auth import (
    AuthError,
    JwksKeySource,
    LocalTokenVerifier,
    OidcTokenVerifier,
    Principal,
    Role,
    TokenVerifier,
    load_or_create_local_key,
)
from inventory_api.edge import CLIENT_REQUEST_ID, EdgeConfig
from inventory_api.errors import REQUEST_ID
from inventory_api.export import ExportService
from inventory_api.history import ScanHistoryService
from inventory_api.ratelimit import CounterStore, InMemoryCounterStore, RateLimiter
from inventory_api.readmodel import ReadModel
from inventory_api.service import InventoryQueryService
from inventory_api.settings import ApiAuthSettings, ApiSettings
from inventory_api.sync import SyncService

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


@cache
def settings() -> ApiSettings:
    return ApiSettings()  # values come from the environment


@cache
def _clients() -> AwsClientFactory:
    return AwsClientFactory(auth_settings().aws_region)


@cache
def _reader() -> DynamoDbInventoryReader:
    s = settings()
    return DynamoDbInventoryReader(_clients().dynamodb_table(s.app_table_name), parallelism=s.read_model_parallelism)


@cache
def query_service() -> InventoryQueryService:
    s = settings()
    table = _clients().dynamodb_table(s.app_table_name)
    model = ReadModel(
        _reader(),
        ttl_s=s.read_model_ttl_s,
        refresh_s=s.read_model_refresh_s,
        snapshots=S3GridSnapshotSource(_clients().client("s3"), s.inventory_bucket),
        journal=DynamoDbChangeJournal(table),
        accounts=_reader(),
    )
    return InventoryQueryService(
        _reader(),
        schedule_expression=s.sync_schedule_expression,
        schedule_timezone=s.sync_schedule_timezone,
        read_model=model,
    )


@cache
def analytics_service() -> AnalyticsService:
    return AnalyticsService(DuckDbSummarySource(IcebergSettings()))


@cache
def sync_service() -> SyncService:
    s = settings()
    table = _clients().dynamodb_table(s.app_table_name)
    return SyncService(
        _reader(),
        DynamoDbScanStore(table),
        SqsScanRequestSender(_clients().client("sqs"), s.scan_requests_queue_url),
        audit_service(),
        lock_ttl_s=s.sync_lock_ttl_s,
    )


@cache
def audit_service() -> AuditService:
    return AuditService(DynamoDbAuditLog(_clients().dynamodb_table(settings().audit_table_name)))


@cache
def _export_store() -> S3ExportStore:
    return S3ExportStore(_clients().client("s3", signature_version="s3v4"), settings().inventory_bucket)


def export_service(
    query: Annotated[InventoryQueryService, Depends(query_service)],
    audit: Annotated[AuditService, Depends(audit_service)],
) -> ExportService:
    return ExportService(query, _export_store(), audit, url_ttl_s=settings().export_url_ttl_s)


def known_regions() -> frozenset[str]:
    """Every region botocore knows in the public, China and GovCloud partitions (offline, from its data)."""
    session = _clients().session
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )


@cache
def account_service() -> AccountService:
    s = settings()
    table = _clients().dynamodb_table(s.app_table_name)
    return AccountService(
        _reader(),
        DynamoDbAccountStore(table),
        StsAccessChecker(_clients()),
        audit_service(),
        known_regions=known_regions(),
        default_regions=RegionSettings().inventory_regions,
        default_role_name=s.role_name,
        on_change=query_service().invalidate,
    )


@cache
def history_service() -> ScanHistoryService:
    return ScanHistoryService(DynamoDbScanHistory(_clients().dynamodb_table(settings().app_table_name)))


@cache
def auth_settings() -> ApiAuthSettings:
    return ApiAuthSettings()


@cache
def token_verifier() -> TokenVerifier:
    s = auth_settings()
    if s.auth_mode == "oidc":
        assert s.oidc_jwks_url and s.oidc_issuer and s.oidc_audience  # checked by ApiSettings
        return OidcTokenVerifier(
            JwksKeySource(s.oidc_jwks_url),
            issuer=s.oidc_issuer,
            audience=s.oidc_audience,
            roles_claim=s.oidc_roles_claim,
            user_claim=s.oidc_user_claim,
        )
    key_file = s.auth_local_key_file
    return LocalTokenVerifier(lambda: load_or_create_local_key(key_file))


@cache
def edge_config() -> EdgeConfig:
    s = auth_settings()
    return EdgeConfig(max_body_bytes=s.max_body_bytes, trusted_proxies=s.trusted_networks)


@cache
def rate_limiter() -> RateLimiter:
    s = auth_settings()
    store: CounterStore = (
        DynamoDbCounterStore(_clients().dynamodb_table(settings().app_table_name))
        if s.rate_limit_store == "dynamodb"
        else InMemoryCounterStore()
    )
    return RateLimiter(store, s.rate_limit_per_minute)


def warm_up() -> None:
    """Build the grid's services and their AWS clients before the first request (about 0.1 s of CPU that the
    first request would otherwise pay); no data is read. A failure here is left to the first request."""
    try:
        query_service()
        token_verifier()
        rate_limiter()
    except Exception:
        logger.warning("services not built at start; the first request builds them", exc_info=True)


def reset() -> None:
    """Forget every built service (tests point the environment at a new stack)."""
    for factory in (
        settings,
        auth_settings,
        _clients,
        _reader,
        query_service,
        sync_service,
        analytics_service,
        _export_store,
        audit_service,
        token_verifier,
        rate_limiter,
        edge_config,
        account_service,
        history_service,
    ):
        factory.cache_clear()


bearer = HTTPBearer(auto_error=False, description="JWT from the OIDC provider, or `inventory local token` locally.")


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Annotated[TokenVerifier, Depends(token_verifier)],
    limiter: Annotated[RateLimiter, Depends(rate_limiter)],
) -> Principal:
    """The caller, from a verified bearer token; 401 without one, 429 over the rate limit."""
    if credentials is None:
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    try:
        who = verifier.verify(credentials.credentials)
    except AuthError as exc:
        logger.info("token rejected", extra={"reason": str(exc), "path": request.url.path})
        raise HTTPException(
            401, "the bearer token is invalid or expired", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None
    decision = limiter.check(who.user_id)
    if not decision.allowed:
        logger.warning("rate limited", extra={"user": who.user_id, "limit": limiter.limit})
        raise HTTPException(
            429,
            f"rate limit of {limiter.limit} requests per minute exceeded",
            headers={"Retry-After": str(decision.retry_after_s)},
        )
    request.state.principal = who
    return who


def require(role: Role) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role < role:
            raise HTTPException(403, f"this needs the {role.name} role; you have {who.role.name}")
        return who

    return check


def actor(request: Request, who: Principal) -> Actor:
    """The caller as the audit log names them: principal, address (edge.py), server and client request ids."""
    return Actor(
        principal=who,
        source_ip=request.client.host if request.client else None,
        request_id=REQUEST_ID.get(),
        client_request_id=CLIENT_REQUEST_ID.get(),
    )


async def sync_operator(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    audit: Annotated[AuditService, Depends(audit_service)],
) -> Principal:
    """Operator check for sync triggers; a refused trigger is audited too (TRD 7: every sync trigger), with
    the account it asked for as far as the body parses (it is not validated: the caller may not sync)."""
    if who.role < Role.operator:
        asked = await _lenient_json(request)
        account = asked.get("accountId") if isinstance(asked, dict) else None
        parameters = {"accountId": account[:64] if isinstance(account, str) else None}
        await run_in_threadpool(audit.record, actor(request, who), "sync", parameters, "forbidden")
        raise HTTPException(403, f"this needs the operator role; you have {who.role.name}")
    return who


async def _lenient_json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def json_body(model: type[M], *, optional: bool = False) -> Callable[[Request], Awaitable[M | None]]:
    """A dependency that reads and validates the JSON body of ``model``.

    FastAPI reads and parses a declared Body before it resolves any dependency, so malformed JSON used to
    answer 422 before the token was checked. Routes list their role dependency first and this one after
    it: the body is parsed only for a caller who may make the request (the edge has capped its size).
    """

    async def parse(request: Request) -> M | None:
        raw = await request.body()
        if not raw.strip():
            if optional:
                return None
            raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "a JSON body is required"}])
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
            ) from None

    return parse


def body_schema(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that reads its body through ``json_body`` (nested models inlined)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return {"requestBody": {"required": required, "content": {"application/json": {"schema": inline(schema)}}}}


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
SyncOperator = Annotated[Principal, Depends(sync_operator)]
