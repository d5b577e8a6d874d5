"""Operators' routes: the target accounts (issue 11). Viewers list; admins change and check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response

from inventory_api.accounts import AccountService, Actor, InvalidAccountError
from inventory_api.auth import Principal
from inventory_api.deps import Admin, Viewer, account_service, history_service
from inventory_api.errors import REQUEST_ID
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


def _actor(who: Principal, request: Request) -> Actor:
    return Actor(principal=who, source_ip=request.client.host if request.client else None, request_id=REQUEST_ID.get())


@router.get("/accounts", response_model=AccountsPage)
def list_accounts(_who: Viewer, service: Accounts) -> AccountsPage:
    return service.list_accounts()


@router.post(
    "/accounts",
    response_model=AccountPublic,
    status_code=201,
    responses={409: {"model": ErrorBody, "description": "The account is already registered"}},
)
def add_account(
    who: Admin, request: Request, service: Accounts, body: Annotated[AccountCreate, Body()]
) -> AccountPublic:
    try:
        return service.add(body, _actor(who, request))
    except InvalidAccountError as exc:
        raise HTTPException(422, str(exc)) from None


@router.patch("/accounts/{accountId}", response_model=AccountPublic, responses=NOT_FOUND)
def update_account(
    who: Admin, request: Request, service: Accounts, accountId: AccountId, body: Annotated[AccountPatch, Body()]
) -> AccountPublic:
    try:
        return service.update(accountId, body, _actor(who, request))
    except InvalidAccountError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/accounts/{accountId}", status_code=204, response_class=Response, responses=NOT_FOUND)
def remove_account(who: Admin, request: Request, service: Accounts, accountId: AccountId) -> Response:
    service.remove(accountId, _actor(who, request))
    return Response(status_code=204)


@router.post("/accounts/{accountId}/check", response_model=AccountCheckPublic, responses=NOT_FOUND)
def check_account(who: Admin, request: Request, service: Accounts, accountId: AccountId) -> AccountCheckPublic:
    return service.check(accountId, _actor(who, request))


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
