"""Operators' routes: the target accounts (issue 11). Viewers list; admins change and check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from inventory_api.accounts import AccountService, InvalidAccountError
from inventory_api.deps import Admin, Viewer, account_service, actor, body_schema, history_service, json_body
from inventory_api.history import InvalidTokenError, ScanHistoryService
from inventory_api.routes.inventory import COMMON_ERRORS, NOT_FOUND
from inventory_api.schemas import (
    ACCOUNT_ID_PATTERN,
    AccountCheckPublic,
    AccountCreate,
    AccountPatch,
    AccountPublic,
    AccountsPage,
    ErrorBody,
    SyncHistoryPage,
)

router = APIRouter(prefix="/api/inventory", tags=["operators"], responses=COMMON_ERRORS)
AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="12-digit AWS account id")]
Accounts = Annotated[AccountService, Depends(account_service)]


@router.get("/accounts", response_model=AccountsPage)
def list_accounts(_who: Viewer, service: Accounts) -> AccountsPage:
    return service.list_accounts()


@router.post(
    "/accounts",
    response_model=AccountPublic,
    status_code=201,
    responses={409: {"model": ErrorBody, "description": "The account is already registered"}},
    openapi_extra=body_schema(AccountCreate),
)
def add_account(
    who: Admin, request: Request, service: Accounts, body: Annotated[AccountCreate, Depends(json_body(AccountCreate))]
) -> AccountPublic:
    try:
        return service.add(body, actor(request, who))
    except InvalidAccountError as exc:
        raise HTTPException(422, str(exc)) from None


@router.patch(
    "/accounts/{accountId}", response_model=AccountPublic, responses=NOT_FOUND, openapi_extra=body_schema(AccountPatch)
)
def update_account(
    who: Admin,
    request: Request,
    service: Accounts,
    accountId: AccountId,
    body: Annotated[AccountPatch, Depends(json_body(AccountPatch))],  # after the role check: see json_body
) -> AccountPublic:
    try:
        return service.update(accountId, body, actor(request, who))
    except InvalidAccountError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/accounts/{accountId}", status_code=204, response_class=Response, responses=NOT_FOUND)
def remove_account(who: Admin, request: Request, service: Accounts, accountId: AccountId) -> Response:
    service.remove(accountId, actor(request, who))
    return Response(status_code=204)


@router.post("/accounts/{accountId}/check", response_model=AccountCheckPublic, responses=NOT_FOUND)
def check_account(who: Admin, request: Request, service: Accounts, accountId: AccountId) -> AccountCheckPublic:
    return service.check(accountId, actor(request, who))


@router.get("/sync", response_model=SyncHistoryPage)
def sync_history(
    _who: Viewer,
    service: Annotated[ScanHistoryService, Depends(history_service)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    nextToken: Annotated[str | None, Query(max_length=2048)] = None,
) -> SyncHistoryPage:
    try:
        return service.page(limit, nextToken)
    except InvalidTokenError as exc:
        raise HTTPException(422, str(exc)) from None
