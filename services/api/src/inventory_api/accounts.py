"""Account onboarding: list, add, change, remove and check the target accounts, each change audited.

The ExternalId is kept on the Account item (DynamoDB, encrypted at rest), because the scanner reads it
from there for every AssumeRole and the Nucleus application already stores its accounts there. It is
never returned in full (``externalIdHint`` shows at most its last 4 characters), never logged and never
written to the audit log (only whether it was set or changed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inventory_core.items import Account, account_id_of, account_id_of_item, account_index_keys, is_account_key
from inventory_core.retry import THROTTLE_CODES
from inventory_core.timefmt import iso

from inventory_api.audit import Actor as Actor  # re-exported: the CLI and tests name it from here
from inventory_api.audit import AuditService
from inventory_api.ports import AccessChecker, AccountStore, InventoryReader
from inventory_api.schemas import (
    AccountCheckPublic,
    AccountCreate,
    AccountPatch,
    AccountPublic,
    AccountsPage,
    RegionCheck,
)
from inventory_api.service import ConflictError, NotFoundError

logger = logging.getLogger(__name__)

ROLE_PREFIX = "NucleusAccess-"


class InvalidAccountError(ValueError):
    """The request names something that cannot be (HTTP 422); the message says what and why."""


@dataclass(frozen=True)
class AdoptResult:
    adopted: list[AccountPublic]
    skipped: list[tuple[str, str]]  # (pk, reason)


def external_id_hint(external_id: str | None) -> str | None:
    """At most the last 4 characters, and never more than a quarter of the value (a short id stays hidden)."""
    if not external_id:
        return None
    shown = min(4, len(external_id) // 4)
    return external_id[-shown:] if shown else None


DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError"}
)
# A disabled opt-in region does not know the global STS token: EC2 answers AuthFailure, others these.
REGION_DISABLED_CODES = frozenset(
    {"AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException", "OptInRequired", "RegionDisabledException"}
)
_DENIED_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9*]+)")


def classify_error(region: str, code: str, message: str, attempted_action: str) -> RegionCheck:
    """A failed check call as a result: access denied (with the action AWS named), not enabled, throttled."""
    if code in DENIED_CODES:
        named = _DENIED_ACTION.search(message)
        return RegionCheck(
            region=region,
            status="access_denied",
            action=named.group(1) if named else attempted_action,
            message=f"{code}: {message}"[:500],
        )
    if code in REGION_DISABLED_CODES:
        return RegionCheck(
            region=region,
            status="region_not_enabled",
            message=f"the region is not enabled in the account ({code})",
        )
    if code in THROTTLE_CODES:
        return RegionCheck(region=region, status="throttled", message=f"{code}: retry later")
    return RegionCheck(region=region, status="error", message=f"{code}: {message}"[:500])


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


class AccountService:
    def __init__(
        self,
        reader: InventoryReader,
        store: AccountStore,
        checker: AccessChecker,
        audit: AuditService,
        *,
        known_regions: Iterable[str],
        default_regions: Sequence[str],
        default_role_name: str = "NucleusAccess-Inventory",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._reader = reader
        self._store = store
        self._checker = checker
        self._audit = audit
        self._known_regions = frozenset(known_regions)
        self._default_regions = list(default_regions)
        self._default_role_name = default_role_name
        self._clock = clock
        self._on_change = on_change

    # --- reading -----------------------------------------------------------------------------------------

    def role_arn(self, item: Mapping[str, Any]) -> str:
        if item.get("roleArn"):
            return str(item["roleArn"])
        return f"arn:aws:iam::{account_id_of_item(item)}:role/{item.get('roleName') or self._default_role_name}"

    def public(self, item: Mapping[str, Any]) -> AccountPublic:
        account_id = account_id_of_item(item)
        role_arn = self.role_arn(item)
        external_id = _str(item.get("externalId"))
        regions = item.get("regions")
        return AccountPublic(
            accountId=account_id,
            accountName=str(item.get("accountName") or account_id),
            roleName=str(item.get("roleName") or role_arn.rsplit("/", 1)[-1]),
            roleArn=role_arn,
            regions=[str(r) for r in regions] if regions else None,
            syncEnabled=bool(item.get("syncEnabled", False)),
            externalIdConfigured=bool(external_id),
            externalIdHint=external_id_hint(external_id),
            source="nucleus" if item.get("source") == "nucleus" else "inventory",
            lastSyncedAt=_str(item.get("lastSyncedAt")),
            lastSyncStatus=_str(item.get("lastSyncStatus")),
            lastSyncResourceCount=_int(item.get("lastSyncResourceCount")),
            lastSyncDurationMs=_int(item.get("lastSyncDurationMs")),
            lastSyncExecutionId=_str(item.get("lastSyncExecutionId")),
        )

    def list_accounts(self) -> AccountsPage:
        items = sorted((self.public(i) for i in self._reader.account_items()), key=lambda a: a.accountId)
        return AccountsPage(items=items, count=len(items))

    def get(self, account_id: str) -> AccountPublic:
        item = self._store.get(account_id)
        if item is None:
            raise NotFoundError(f"account {account_id} is not registered")
        return self.public(item)

    # --- changes -----------------------------------------------------------------------------------------

    def _regions(self, regions: Sequence[str] | None) -> list[str] | None:
        if regions is None:
            return None
        unique = list(dict.fromkeys(regions))
        unknown = [r for r in unique if r not in self._known_regions]
        if unknown:
            raise InvalidAccountError(f"unknown region(s): {', '.join(unknown)}")
        return unique

    def _record(self, actor: Actor, action: str, parameters: Mapping[str, Any], outcome: str) -> None:
        self._audit.record(actor, action, parameters, outcome)

    def add(self, body: AccountCreate, actor: Actor) -> AccountPublic:
        parameters = {
            "accountId": body.accountId,
            "accountName": body.accountName,
            "roleName": body.roleName,
            "regions": body.regions,
            "syncEnabled": body.syncEnabled,
            "externalIdSet": body.externalId is not None,
        }
        try:
            regions = self._regions(body.regions)
        except InvalidAccountError:
            self._record(actor, "account.add", parameters, "invalid")
            raise
        account = Account(
            account_id=body.accountId,
            account_name=body.accountName,
            sync_enabled=body.syncEnabled,
            role_name=body.roleName,
            external_id=body.externalId,
            regions=tuple(regions) if regions else None,
        )
        item = {
            **account.to_item(),
            "source": "inventory",
            "createdAt": iso(self._clock()),
            "createdBy": actor.principal.user_id,
        }
        if not self._store.create(item):
            self._record(actor, "account.add", parameters, "conflict")
            raise ConflictError(f"account {body.accountId} is already registered")
        self._record(actor, "account.add", parameters, "success")
        logger.info("account added", extra={"account_id": body.accountId, "actor": actor.principal.user_id})
        self._on_change()
        return self.public(item)

    def _changes(self, patch: AccountPatch) -> tuple[dict[str, Any], list[str]]:
        """The attributes to set and remove; a null role, ExternalId or regions goes back to the default."""
        fields = patch.model_fields_set
        sets: dict[str, Any] = {}
        removes: list[str] = []
        for name in ("accountName", "syncEnabled"):
            if name in fields:
                if getattr(patch, name) is None:
                    raise InvalidAccountError(f"{name} cannot be null")
                sets[name] = getattr(patch, name)
        if "roleName" in fields:
            removes.append("roleArn")  # the role now follows roleName (a Nucleus item may carry a roleArn)
        if "regions" in fields:
            patch = patch.model_copy(update={"regions": self._regions(patch.regions)})
        for name in ("roleName", "externalId", "regions"):
            if name in fields:
                value = getattr(patch, name)
                if value is None:
                    removes.append(name)
                else:
                    sets[name] = value
        return sets, removes

    def update(self, account_id: str, patch: AccountPatch, actor: Actor) -> AccountPublic:
        fields = patch.model_fields_set
        if not fields:
            return self.get(account_id)  # nothing to change: the account as it is (not audited)
        parameters: dict[str, Any] = {"accountId": account_id}
        parameters.update({f: getattr(patch, f) for f in fields if f != "externalId"})
        if "externalId" in fields:
            parameters["externalIdChanged"] = "set" if patch.externalId is not None else "removed"
        try:
            sets, removes = self._changes(patch)
        except InvalidAccountError:
            self._record(actor, "account.update", parameters, "invalid")
            raise
        sets["updatedAt"] = iso(self._clock())
        sets["updatedBy"] = actor.principal.user_id
        item = self._store.update(account_id, sets, removes)
        if item is None:
            self._record(actor, "account.update", parameters, "not_found")
            raise NotFoundError(f"account {account_id} is not registered")
        self._record(actor, "account.update", parameters, "success")
        logger.info(
            "account updated",
            extra={"account_id": account_id, "fields": sorted(fields), "actor": actor.principal.user_id},
        )
        self._on_change()
        return self.public(item)

    def set_enabled(self, account_id: str, enabled: bool, actor: Actor) -> AccountPublic:
        return self.update(account_id, AccountPatch(syncEnabled=enabled), actor)

    def remove(self, account_id: str, actor: Actor) -> None:
        """Forget the account: its resources leave the grid, its history stays, nothing is marked missing."""
        old = self._store.delete(account_id)
        if old is None:
            self._record(actor, "account.remove", {"accountId": account_id}, "not_found")
            raise NotFoundError(f"account {account_id} is not registered")
        self._record(
            actor, "account.remove", {"accountId": account_id, "accountName": old.get("accountName")}, "success"
        )
        logger.info("account removed", extra={"account_id": account_id, "actor": actor.principal.user_id})
        self._on_change()

    def check(self, account_id: str, actor: Actor) -> AccountCheckPublic:
        item = self._store.get(account_id)
        if item is None:
            raise NotFoundError(f"account {account_id} is not registered")
        regions = [str(r) for r in item.get("regions") or self._default_regions]
        role_arn = self.role_arn(item)
        checked_at = iso(self._clock())
        results = self._checker.check(account_id, role_arn, _str(item.get("externalId")), regions)
        summary: dict[str, int] = {}
        for result in results:
            summary[result.status] = summary.get(result.status, 0) + 1
        self._record(actor, "account.check", {"accountId": account_id, "roleArn": role_arn, **summary}, "success")
        return AccountCheckPublic(accountId=account_id, checkedAt=checked_at, results=results)

    def adopt_unindexed(self, actor: Actor, *, dry_run: bool = False) -> AdoptResult:
        """Give Account items written by the Nucleus app our GSI1 keys, so the scanner and the grid see them.

        Nothing else of the item changes (syncEnabled stays as it is, false when absent); ``source`` becomes
        ``nucleus``. With ``dry_run`` only report what would change.
        """
        adopted: list[AccountPublic] = []
        skipped: list[tuple[str, str]] = []
        for item in self._store.unindexed():
            pk = str(item.get("pk"))
            account_id = account_id_of(pk)
            if not (is_account_key(pk) and account_id.isdigit() and len(account_id) == 12):
                skipped.append((pk, "the key is not ACCOUNT#<12-digit account id>"))
                continue
            sets = {**account_index_keys(account_id), "accountId": account_id, "source": "nucleus"}
            if dry_run:
                adopted.append(self.public({**item, **sets}))
                continue
            new = self._store.update(account_id, sets, [])
            if new is None:
                skipped.append((pk, "deleted while adopting"))
                continue
            adopted.append(self.public(new))
            self._record(actor, "account.adopt", {"accountId": account_id}, "success")
        if adopted and not dry_run:
            self._on_change()
        return AdoptResult(adopted=adopted, skipped=skipped)
