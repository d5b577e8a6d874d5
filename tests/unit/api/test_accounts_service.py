"""Account onboarding and scan history with in-memory ports: validation, ExternalId rules, audit, paging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from inventory_api.accounts import AccountService, Actor, InvalidAccountError, classify_error, external_id_hint
from inventory_api.audit import AuditService
from inventory_api.auth import Principal, Role
from inventory_api.history import InvalidTokenError, ScanHistoryService, decode_token, encode_token
from inventory_api.schemas import AccountCreate, AccountPatch, RegionCheck
from inventory_api.service import ConflictError, NotFoundError
from inventory_core.items import (
    Account,
    ScanAccountItem,
    ScanStatusItem,
    account_key,
    account_pk,
    scan_history_keys,
    scan_status_key,
)
from pydantic import ValidationError

from tests.fakes.api import InMemoryAuditLog
from tests.fakes.operators import InMemoryAccessChecker, InMemoryAccountStore, InMemoryScanHistory

ADMIN = Actor(principal=Principal(user_id="ada", role=Role.admin), source_ip="10.0.0.1", request_id="r-1")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def service(
    store: InMemoryAccountStore | None = None, checker: InMemoryAccessChecker | None = None
) -> tuple[AccountService, InMemoryAccountStore, InMemoryAuditLog, list[str]]:
    store = store or InMemoryAccountStore()
    log = InMemoryAuditLog()
    changes: list[str] = []
    svc = AccountService(
        store,
        store,
        checker or InMemoryAccessChecker(),
        AuditService(log, clock=lambda: NOW),
        known_regions={"us-east-1", "eu-west-1", "ap-south-1"},
        default_regions=["us-east-1", "eu-west-1"],
        clock=lambda: NOW,
        on_change=lambda: changes.append("changed"),
    )
    return svc, store, log, changes


@pytest.mark.parametrize(
    ("external_id", "hint"),
    [
        (None, None),
        ("", None),
        ("ab", None),
        ("abcdefg", "g"),
        ("abcdefgh", "gh"),
        ("0123456789abcdef", "cdef"),
        ("x" * 100 + "WXYZ", "WXYZ"),
    ],
)
def test_the_external_id_hint_shows_at_most_four_characters_and_at_most_a_quarter(
    external_id: str | None, hint: str | None
) -> None:
    assert external_id_hint(external_id) == hint


def test_add_validates_audits_and_keeps_the_external_id_out_of_the_audit_log() -> None:
    svc, store, log, changes = service()
    account = svc.add(
        AccountCreate(
            accountId="111122223333",
            accountName="Prod",
            externalId="secret-ext-id-1234",
            regions=["eu-west-1", "eu-west-1", "us-east-1"],
        ),
        ADMIN,
    )
    assert account.regions == ["eu-west-1", "us-east-1"]  # duplicates dropped, order kept
    assert (
        account.externalIdHint == "1234" and account.roleArn == "arn:aws:iam::111122223333:role/NucleusAccess-Inventory"
    )
    assert store.items["111122223333"]["externalId"] == "secret-ext-id-1234"
    assert Account.from_item(store.items["111122223333"]).sync_enabled is True
    assert changes == ["changed"]
    (record,) = log.records
    assert (record["actor"], record["action"], record["outcome"], record["sourceIp"]) == (
        "ada",
        "account.add",
        "success",
        "10.0.0.1",
    )
    assert record["parameters"]["externalIdSet"] is True and "secret" not in str(record)

    with pytest.raises(ConflictError):
        svc.add(AccountCreate(accountId="111122223333", accountName="again"), ADMIN)
    with pytest.raises(InvalidAccountError, match="unknown region"):
        svc.add(AccountCreate(accountId="999988887777", accountName="x", regions=["us-east-1", "eu-north-9"]), ADMIN)
    assert [r["outcome"] for r in log.records] == ["success", "conflict", "invalid"]
    assert "999988887777" not in store.items


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accountId", "12345678901"),
        ("accountId", "abcdefghijkl"),
        ("roleName", "OrganizationAccountAccessRole"),
        ("roleName", "NucleusAccess-"),
        ("externalId", "a"),
        ("externalId", "has space"),
        ("accountName", ""),
        ("regions", []),
        ("regions", ["US-EAST-1"]),
    ],
)
def test_bad_input_is_refused_by_the_schema(field: str, value: object) -> None:
    body = {"accountId": "111122223333", "accountName": "ok", field: value}
    with pytest.raises(ValidationError) as info:
        AccountCreate.model_validate(body)
    assert info.value.errors()[0]["loc"][0] == field


def test_patch_sets_and_resets_fields_and_null_goes_back_to_the_default() -> None:
    svc, store, log, _ = service()
    store.create(
        {
            **Account(
                "111122223333",
                "Nucleus one",
                True,
                role_arn="arn:aws:iam::111122223333:role/NucleusAccess-Old",
                external_id="ext-0000-1111",
            ).to_item(),
            "source": "nucleus",
        }
    )
    renamed = svc.update("111122223333", AccountPatch(roleName="NucleusAccess-New", regions=["ap-south-1"]), ADMIN)
    assert renamed.roleArn == "arn:aws:iam::111122223333:role/NucleusAccess-New"  # roleArn follows roleName now
    assert renamed.regions == ["ap-south-1"] and renamed.source == "nucleus"
    reset = svc.update("111122223333", AccountPatch(roleName=None, regions=None, externalId=None), ADMIN)
    assert reset.roleName == "NucleusAccess-Inventory" and reset.regions is None
    assert reset.externalIdConfigured is False and "externalId" not in store.items["111122223333"]
    assert log.records[-1]["parameters"]["externalIdChanged"] == "removed"

    assert svc.update("111122223333", AccountPatch(), ADMIN) == reset  # nothing to change: as it is, not audited
    assert log.records[-1]["parameters"]["externalIdChanged"] == "removed"
    for bad in (AccountPatch(accountName=None), AccountPatch(syncEnabled=None)):
        with pytest.raises(InvalidAccountError):
            svc.update("111122223333", bad, ADMIN)
    with pytest.raises(NotFoundError):
        svc.set_enabled("000000000000", True, ADMIN)


def test_remove_forgets_only_the_account_and_check_uses_its_role_regions_and_external_id() -> None:
    checker = InMemoryAccessChecker(
        statuses={"eu-west-1": RegionCheck(region="eu-west-1", status="access_denied", action="ec2:DescribeVpcs")}
    )
    svc, store, log, changes = service(checker=checker)
    svc.add(
        AccountCreate(accountId="111122223333", accountName="A", roleName="NucleusAccess-A", externalId="ext-abcd"),
        ADMIN,
    )
    result = svc.check("111122223333", ADMIN)
    assert checker.calls == [
        ("111122223333", "arn:aws:iam::111122223333:role/NucleusAccess-A", "ext-abcd", ("us-east-1", "eu-west-1"))
    ]
    assert [(r.region, r.status, r.action) for r in result.results] == [
        ("us-east-1", "ok", None),
        ("eu-west-1", "access_denied", "ec2:DescribeVpcs"),
    ]
    assert log.records[-1]["parameters"] == {
        "accountId": "111122223333",
        "roleArn": "arn:aws:iam::111122223333:role/NucleusAccess-A",
        "ok": 1,
        "access_denied": 1,
    }
    svc.remove("111122223333", ADMIN)
    assert store.items == {} and changes == ["changed", "changed"]
    with pytest.raises(NotFoundError):
        svc.remove("111122223333", ADMIN)
    with pytest.raises(NotFoundError):
        svc.check("111122223333", ADMIN)


def test_nucleus_items_without_gsi_keys_are_adopted_once_and_odd_keys_are_reported() -> None:
    store = InMemoryAccountStore(
        items={
            "111122223333": {**account_key("111122223333"), "accountName": "N", "syncEnabled": False},
            "bogus": account_key("bogus"),
        }
    )
    svc, _, log, _ = service(store)
    assert svc.list_accounts().count == 0
    dry = svc.adopt_unindexed(ADMIN, dry_run=True)
    assert [a.accountId for a in dry.adopted] == ["111122223333"] and svc.list_accounts().count == 0
    done = svc.adopt_unindexed(ADMIN)
    assert [(a.accountId, a.source, a.syncEnabled) for a in done.adopted] == [("111122223333", "nucleus", False)]
    assert done.skipped == [(account_pk("bogus"), "the key is not ACCOUNT#<12-digit account id>")]
    assert [a.accountId for a in svc.list_accounts().items] == ["111122223333"]
    assert svc.adopt_unindexed(ADMIN).adopted == []
    assert [r["action"] for r in log.records] == ["account.adopt"]


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "UnauthorizedOperation",
            "User: arn:x is not authorized to perform: ec2:DescribeVpcs because no policy",
            ("access_denied", "ec2:DescribeVpcs"),
        ),
        ("AccessDenied", "denied, and no action named", ("access_denied", "ec2:DescribeVpcs")),
        ("AuthFailure", "AWS was not able to validate the provided access credentials", ("region_not_enabled", None)),
        ("ThrottlingException", "Rate exceeded", ("throttled", None)),
        ("RequestLimitExceeded", "Request limit exceeded.", ("throttled", None)),
        ("InternalError", "boom", ("error", None)),
    ],
)
def test_a_failed_check_call_is_classified(code: str, message: str, expected: tuple[str, str | None]) -> None:
    result = classify_error("eu-west-1", code, message, "ec2:DescribeVpcs")
    assert (result.status, result.action) == expected


def test_the_scan_history_pages_newest_first_and_refuses_foreign_tokens() -> None:
    items = []
    for n in range(5):
        started = f"2026-11-2{n}T02:00:00Z"
        items.append(
            ScanStatusItem(
                f"e{n}",
                status="completed",
                trigger="schedule",
                started_at=started,
                account_ids=("111122223333", "444455556666"),
            ).to_item()
        )
        items.append(
            ScanAccountItem(f"e{n}", "111122223333", status="success", resource_count=10, scopes_failed=n).to_item()
        )
    # written before the history keys
    items.append({**scan_status_key("legacy"), "status": "completed"})
    history = ScanHistoryService(InMemoryScanHistory(items))
    first = history.page(2, None)
    second = history.page(2, first.nextToken)
    third = history.page(2, second.nextToken)
    assert [r.executionId for r in first.items + second.items + third.items] == ["e4", "e3", "e2", "e1", "e0"]
    assert third.nextToken is None
    row = first.items[0]
    assert (row.accountsTotal, row.accountsCompleted, row.resourceCount, row.failedScopes) == (2, 1, 10, 4)
    for bad in ("not base64!", encode_token({"pk": "x"}), encode_token({"pk": 1, "sk": 2, "gsi1pk": 3, "gsi1sk": 4})):
        with pytest.raises(InvalidTokenError):
            decode_token(bad)
    key = {**scan_status_key("e1"), **scan_history_keys("x", "e1")}
    assert decode_token(encode_token(key)) == key
