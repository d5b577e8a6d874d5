"""The single table's vocabulary: every key format, sort-key constant and item shape (TRD section 3.1).

Every service, fake and benchmark that reads or writes the table builds its keys and items here, so a
format lives in one place. The partitions:

=====================================  ============================  =========================================
pk                                     sk                            item
=====================================  ============================  =========================================
``ACCOUNT#{accountId}``                ``METADATA``                  an account (``Account``)
``ACCOUNT#{accountId}``                ``INVENTORY#{type}#{arn}``    a resource (``ResourceItem``)
``ACCOUNT#{accountId}``                ``SYNC#RUNNING``              the API's sync lock of the account
``LOCK#ACCOUNT#{accountId}``           ``SCAN``                      the scanner's lock of the account
``SCAN#{executionId}``                 ``STATUS``                    a scan execution (``ScanStatusItem``)
``SCAN#{executionId}``                 ``ACCOUNT#{accountId}``       an account's progress (``ScanAccountItem``)
``SCAN#{executionId}``                 ``SCOPE#{scope}``             the pages of a scope applied (projector)
``SCOPE#{scope}``                      ``SWEEPS``                    a scope's complete sweeps and item count
``SCOPE#{scope}``                      ``LEASE``                     the projector's writer lease on a scope
``EVENT#{eventId}``                    ``PROCESSED``                 a processed-event marker (projector)
``GRIDLOG#{seq:012d}``                 ``ENTRY``                     a grid journal entry (``inventory_core.grid``)
``GRIDLOG#HEAD``                       ``HEAD``                      the grid journal's counter
``GRIDLOG#STATE``                      ``SNAPSHOT``                  the grid snapshot publisher's state
``RATELIMIT#{key}``                    ``WINDOW#{window}``           an API rate-limit counter
=====================================  ============================  =========================================

GSIs: gsi1 lists all resources (``TYPE#INVENTORY``, ``{type}#{region}#{name}``), all accounts
(``TYPE#ACCOUNT``, ``{accountId}``) and the scan history (``TYPE#SCAN``, ``{startedAt}#{executionId}``);
gsi2 resources by region (``REGION#{region}``, ``{type}#{lastDiscoveredAt}``); gsi3 resources by type
(``RESOURCE_TYPE#{type}``, ``{accountId}#{resourceId}``). ``ttl`` is the table's TTL attribute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from inventory_events import Resource

from inventory_core.timefmt import iso

# -- partition prefixes and sort keys ------------------------------------------------------------------

ACCOUNT_PREFIX = "ACCOUNT#"
ACCOUNT_SK = "METADATA"
RESOURCE_SK_PREFIX = "INVENTORY#"
SYNC_LOCK_SK = "SYNC#RUNNING"
ACCOUNT_LOCK_PREFIX = "LOCK#ACCOUNT#"
ACCOUNT_LOCK_SK = "SCAN"
SCAN_PREFIX = "SCAN#"
SCAN_STATUS_SK = "STATUS"
SCOPE_PREFIX = "SCOPE#"
SCOPE_SWEEPS_SK = "SWEEPS"
SCOPE_LEASE_SK = "LEASE"
EVENT_PREFIX = "EVENT#"
EVENT_MARKER_SK = "PROCESSED"
GRIDLOG_PREFIX = "GRIDLOG#"
GRIDLOG_ENTRY_SK = "ENTRY"
GRIDLOG_HEAD_KEY: dict[str, str] = {"pk": "GRIDLOG#HEAD", "sk": "HEAD"}
GRIDLOG_STATE_KEY: dict[str, str] = {"pk": "GRIDLOG#STATE", "sk": "SNAPSHOT"}
RATELIMIT_PREFIX = "RATELIMIT#"
RATELIMIT_WINDOW_PREFIX = "WINDOW#"

# -- GSI partitions ------------------------------------------------------------------------------------

ALL_RESOURCES_GSI1PK = "TYPE#INVENTORY"
ALL_ACCOUNTS_GSI1PK = "TYPE#ACCOUNT"
#: GSI1 partition of the scan executions' STATUS items, sorted by ``{startedAt}#{executionId}`` (scan history).
ALL_SCANS_GSI1PK = "TYPE#SCAN"
REGION_GSI2_PREFIX = "REGION#"
TYPE_GSI3_PREFIX = "RESOURCE_TYPE#"
#: Every key attribute of the table and its indexes (pagination tokens carry exactly these).
KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")

#: Scan statuses after which an execution is over.
FINISHED_SCAN_STATUSES = ("completed", "failed")

# -- key builders ----------------------------------------------------------------------------------------


def account_pk(account_id: str) -> str:
    """Partition key of an account and of its resources."""
    return f"{ACCOUNT_PREFIX}{account_id}"


def account_id_of(pk_or_sk: str) -> str:
    """The account id in an ``ACCOUNT#{id}`` key (an account's pk, a scan's per-account sk)."""
    return str(pk_or_sk).removeprefix(ACCOUNT_PREFIX)


def is_account_key(pk_or_sk: str) -> bool:
    """Whether a key is an ``ACCOUNT#{id}`` key."""
    return str(pk_or_sk).startswith(ACCOUNT_PREFIX)


def account_key(account_id: str) -> dict[str, str]:
    """Key of an Account item."""
    return {"pk": account_pk(account_id), "sk": ACCOUNT_SK}


def account_index_keys(account_id: str) -> dict[str, str]:
    """GSI1 keys that list an Account item among all accounts (no table scan)."""
    return {"gsi1pk": ALL_ACCOUNTS_GSI1PK, "gsi1sk": account_id}


def resource_sk(resource_type: str, resource_arn: str) -> str:
    """Sort key of a resource item."""
    return f"{RESOURCE_SK_PREFIX}{resource_type}#{resource_arn}"


def resource_sk_prefix(resource_type: str | None = None) -> str:
    """Sort key prefix of an account's resources, optionally of one type."""
    return f"{RESOURCE_SK_PREFIX}{resource_type}#" if resource_type else RESOURCE_SK_PREFIX


def resource_key(account_id: str, resource_type: str, resource_arn: str) -> dict[str, str]:
    """Key of a resource item."""
    return {"pk": account_pk(account_id), "sk": resource_sk(resource_type, resource_arn)}


def region_gsi2pk(region: str) -> str:
    """GSI2 partition: resources by region."""
    return f"{REGION_GSI2_PREFIX}{region}"


def type_gsi3pk(resource_type: str) -> str:
    """GSI3 partition: resources by type."""
    return f"{TYPE_GSI3_PREFIX}{resource_type}"


def resource_gsi_keys(
    *, account_id: str, resource_type: str, resource_id: str, region: str, name: str, last_discovered_at: str
) -> dict[str, str]:
    """The three index entries of a resource item: all resources, by region, by type."""
    return {
        "gsi1pk": ALL_RESOURCES_GSI1PK,
        "gsi1sk": f"{resource_type}#{region}#{name}",
        "gsi2pk": region_gsi2pk(region),
        "gsi2sk": f"{resource_type}#{last_discovered_at}",
        "gsi3pk": type_gsi3pk(resource_type),
        "gsi3sk": f"{account_id}#{resource_id}",
    }


def account_lock_key(account_id: str) -> dict[str, str]:
    """Key of the scanner's lock of an account, held while a scan of it runs."""
    return {"pk": f"{ACCOUNT_LOCK_PREFIX}{account_id}", "sk": ACCOUNT_LOCK_SK}


def sync_lock_key(account_id: str) -> dict[str, str]:
    """Key of the API's sync lock of an account (one POST /sync at a time per account)."""
    return {"pk": account_pk(account_id), "sk": SYNC_LOCK_SK}


def scan_pk(execution_id: str) -> str:
    """Partition key of a scan execution."""
    return f"{SCAN_PREFIX}{execution_id}"


def execution_id_of(pk: str) -> str:
    """The execution id in a ``SCAN#{id}`` partition key."""
    return str(pk).removeprefix(SCAN_PREFIX)


def scan_status_key(execution_id: str) -> dict[str, str]:
    """Key of a scan execution's STATUS item."""
    return {"pk": scan_pk(execution_id), "sk": SCAN_STATUS_SK}


def scan_account_key(execution_id: str, account_id: str) -> dict[str, str]:
    """Key of an account's progress item in a scan execution."""
    return {"pk": scan_pk(execution_id), "sk": account_pk(account_id)}


def scan_scope_key(execution_id: str, scope_key: str) -> dict[str, str]:
    """Key of the item that records which pages of a scope a scan execution applied."""
    return {"pk": scan_pk(execution_id), "sk": f"{SCOPE_PREFIX}{scope_key}"}


def scan_history_keys(started_at: str, execution_id: str) -> dict[str, str]:
    """GSI1 keys that list a scan execution's STATUS item in the scan history, newest first."""
    return {"gsi1pk": ALL_SCANS_GSI1PK, "gsi1sk": f"{started_at}#{execution_id}"}


def scope_pk(scope_key: str) -> str:
    """Partition of a scope's own items (``Scope.key``): its writer lease and its recorded sweeps."""
    return f"{SCOPE_PREFIX}{scope_key}"


def scope_sweeps_key(scope_key: str) -> dict[str, str]:
    """Key of a scope's sweeps item (complete sweeps' scan starts, item count)."""
    return {"pk": scope_pk(scope_key), "sk": SCOPE_SWEEPS_SK}


def scope_lease_key(scope_key: str) -> dict[str, str]:
    """Key of the projector's writer lease on a scope."""
    return {"pk": scope_pk(scope_key), "sk": SCOPE_LEASE_SK}


def event_marker_key(event_id: UUID | str) -> dict[str, str]:
    """Key of a processed-event marker: one partition per event, so markers spread over the table."""
    return {"pk": f"{EVENT_PREFIX}{event_id}", "sk": EVENT_MARKER_SK}


def journal_entry_key(seq: int) -> dict[str, str]:
    """Key of grid journal entry number ``seq``."""
    return {"pk": f"{GRIDLOG_PREFIX}{seq:012d}", "sk": GRIDLOG_ENTRY_SK}


def journal_seq_of(pk: str) -> int:
    """The entry number in a grid journal entry's partition key."""
    return int(str(pk).removeprefix(GRIDLOG_PREFIX))


def rate_limit_key(key: str, window: int) -> dict[str, str]:
    """Key of the API's rate-limit counter of ``key`` (a caller) in one time window."""
    return {"pk": f"{RATELIMIT_PREFIX}{key}", "sk": f"{RATELIMIT_WINDOW_PREFIX}{window}"}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


# -- typed items -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A target account as the Account item (``sk=METADATA``) describes it."""

    account_id: str
    account_name: str
    sync_enabled: bool
    role_name: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    #: The regions to scan in this account; None means the scanner's default regions (INVENTORY_REGIONS).
    regions: tuple[str, ...] | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Account:
        """Read an Account item (plain Python values, as the boto3 resource layer returns them)."""
        return cls(
            account_id=account_id_of(str(item["pk"])),
            account_name=str(item.get("accountName") or item["pk"]),
            sync_enabled=bool(item.get("syncEnabled", False)),
            role_name=item.get("roleName"),
            role_arn=item.get("roleArn"),
            external_id=item.get("externalId"),
            regions=tuple(str(r) for r in item["regions"]) if item.get("regions") else None,
        )

    def to_item(self) -> dict[str, Any]:
        """The Account item, with its GSI1 entry so accounts can be listed without a table scan."""
        item: dict[str, Any] = {
            **account_key(self.account_id),
            **account_index_keys(self.account_id),
            "accountId": self.account_id,
            "accountName": self.account_name,
            "syncEnabled": self.sync_enabled,
        }
        for key, value in (("roleName", self.role_name), ("roleArn", self.role_arn), ("externalId", self.external_id)):
            if value:
                item[key] = value
        if self.regions:
            item["regions"] = list(self.regions)
        return item


def account_id_of_item(item: Mapping[str, Any]) -> str:
    """The account id of an Account item (its ``accountId``, or its pk for items written without one)."""
    return str(item.get("accountId") or account_id_of(str(item["pk"])))


@dataclass(frozen=True)
class ResourceItem:
    """A resource as the projector stores it (``pk=ACCOUNT#{id}``, ``sk=INVENTORY#{type}#{arn}``).

    An active item has neither ``missingSince`` nor ``ttl``; a missing one has both (DynamoDB deletes it
    ``retention`` after it went missing).
    """

    account_id: str
    resource_type: str
    resource_arn: str
    resource_id: str
    region: str
    name: str
    state: str
    last_discovered_at: str
    first_discovered_at: str
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    discovery_status: str = "active"
    last_execution_id: str | None = None
    missing_since: str | None = None
    ttl: int | None = None

    @classmethod
    def observed(
        cls,
        resource: Resource,
        *,
        execution_id: str,
        first_discovered_at: str | None = None,
        missing_since: str | None = None,
        ttl: int | None = None,
    ) -> ResourceItem:
        """The item of a scanned resource: active, or missing since ``missing_since``.

        ``ttl`` is the projector's rule (``ddb_projector.rules.missing_ttl``); an active item has none.
        """
        seen = iso(resource.discovered_at)
        return cls(
            account_id=resource.account_id,
            resource_type=resource.resource_type,
            resource_arn=resource.resource_arn,
            resource_id=resource.resource_id,
            region=resource.region,
            name=resource.name,
            state=resource.state,
            last_discovered_at=seen,
            first_discovered_at=first_discovered_at or seen,
            tags=dict(resource.tags),
            metadata=dict(resource.metadata),
            discovery_status="missing" if missing_since else "active",
            last_execution_id=execution_id,
            missing_since=missing_since,
            ttl=ttl if missing_since else None,
        )

    def key(self) -> dict[str, str]:
        """The item's key."""
        return resource_key(self.account_id, self.resource_type, self.resource_arn)

    def to_item(self) -> dict[str, Any]:
        """The whole item, index entries included."""
        item: dict[str, Any] = {
            **self.key(),
            **resource_gsi_keys(
                account_id=self.account_id,
                resource_type=self.resource_type,
                resource_id=self.resource_id,
                region=self.region,
                name=self.name,
                last_discovered_at=self.last_discovered_at,
            ),
            "resourceId": self.resource_id,
            "resourceArn": self.resource_arn,
            "resourceType": self.resource_type,
            "accountId": self.account_id,
            "name": self.name,
            "region": self.region,
            "state": self.state,
            "tags": dict(self.tags),
            "metadata": dict(self.metadata),
            "lastDiscoveredAt": self.last_discovered_at,
            "firstDiscoveredAt": self.first_discovered_at,
            "discoveryStatus": self.discovery_status,
        }
        for name, value in (
            ("lastExecutionId", self.last_execution_id),
            ("missingSince", self.missing_since),
            ("ttl", self.ttl),
        ):
            if value is not None:
                item[name] = value
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ResourceItem:
        """Read a resource item (plain Python values, as the boto3 resource layer returns them)."""
        last = str(item.get("lastDiscoveredAt") or "")
        return cls(
            account_id=str(item.get("accountId") or account_id_of(str(item["pk"]))),
            resource_type=str(item["resourceType"]),
            resource_arn=str(item["resourceArn"]),
            resource_id=str(item.get("resourceId", "")),
            region=str(item.get("region", "")),
            name=str(item.get("name") or ""),
            state=str(item.get("state") or ""),
            last_discovered_at=last,
            first_discovered_at=str(item.get("firstDiscoveredAt") or last),
            tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
            metadata=dict(item.get("metadata") or {}),
            discovery_status=str(item.get("discoveryStatus") or "active"),
            last_execution_id=_str(item.get("lastExecutionId")),
            missing_since=_str(item.get("missingSince")),
            ttl=_int(item.get("ttl")),
        )


#: Attribute names of a STATUS item, by ScanStatusItem field.
_SCAN_STATUS_FIELDS = (
    ("status", "status"),
    ("started_at", "startedAt"),
    ("requested_by", "requestedBy"),
    ("trigger", "trigger"),
    ("account_ids", "accountIds"),
    ("execution_id", "executionId"),
    ("completed_at", "completedAt"),
    ("duration_ms", "durationMs"),
    ("resource_count", "resourceCount"),
    ("account_count", "accountCount"),
    ("accounts_failed", "accountsFailed"),
    ("accounts_skipped", "accountsSkipped"),
    ("error", "error"),
)


@dataclass(frozen=True)
class ScanStatusItem:
    """A scan execution's STATUS item (``pk=SCAN#{id}``, ``sk=STATUS``).

    Written by three services: the starter of the scan (the API's POST /sync or the scanner's ledger) with
    ``attributes()`` under ``if_not_exists`` so it never overwrites another starter, the projector when the
    scan ends (counts, ``completedAt``), and the API when it could not send the request (``failed``).
    """

    execution_id: str
    status: str = "in_progress"
    started_at: str | None = None
    requested_by: str | None = None
    trigger: str | None = None
    account_ids: tuple[str, ...] | None = None
    completed_at: str | None = None
    duration_ms: int | None = None
    resource_count: int | None = None
    account_count: int | None = None
    accounts_failed: int | None = None
    accounts_skipped: int | None = None
    error: str | None = None

    def key(self) -> dict[str, str]:
        """The item's key."""
        return scan_status_key(self.execution_id)

    @property
    def finished(self) -> bool:
        """Whether the execution is over (completed or failed)."""
        return self.status in FINISHED_SCAN_STATUSES

    def attributes(self) -> dict[str, Any]:
        """The item's attributes other than its key, the scan-history index entry included when started."""
        values: dict[str, Any] = {}
        for name, attribute in _SCAN_STATUS_FIELDS:
            value = getattr(self, name)
            if value is not None:
                values[attribute] = list(value) if name == "account_ids" else value
        if self.started_at is not None:
            values.update(scan_history_keys(self.started_at, self.execution_id))
        return values

    def to_item(self) -> dict[str, Any]:
        """The whole item."""
        return {**self.key(), **self.attributes()}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ScanStatusItem:
        """Read a STATUS item; one written before ``executionId`` was stored takes it from its key."""
        ids = item.get("accountIds")
        return cls(
            execution_id=str(item.get("executionId") or execution_id_of(str(item["pk"]))),
            status=str(item.get("status") or "in_progress"),
            started_at=_str(item.get("startedAt")),
            requested_by=_str(item.get("requestedBy")),
            trigger=_str(item.get("trigger")),
            account_ids=tuple(str(a) for a in ids) if ids is not None else None,
            completed_at=_str(item.get("completedAt")),
            duration_ms=_int(item.get("durationMs")),
            resource_count=_int(item.get("resourceCount")),
            account_count=_int(item.get("accountCount")),
            accounts_failed=_int(item.get("accountsFailed")),
            accounts_skipped=_int(item.get("accountsSkipped")),
            error=_str(item.get("error")),
        )


@dataclass(frozen=True)
class ScanAccountItem:
    """An account's progress in a scan execution (``pk=SCAN#{id}``, ``sk=ACCOUNT#{accountId}``), by the projector."""

    execution_id: str
    account_id: str
    #: in_progress, success, partial or failed; None while nothing was recorded
    status: str | None = None
    resource_count: int | None = None
    duration_ms: int | None = None
    completed_at: str | None = None
    scopes_done: int = 0
    scopes_failed: int = 0
    scope_keys: frozenset[str] = frozenset()

    def key(self) -> dict[str, str]:
        """The item's key."""
        return scan_account_key(self.execution_id, self.account_id)

    def to_item(self) -> dict[str, Any]:
        """The whole item (counters and the scope set only once they hold something)."""
        item: dict[str, Any] = {**self.key(), "accountId": self.account_id}
        for attribute, value in (
            ("status", self.status),
            ("resourceCount", self.resource_count),
            ("durationMs", self.duration_ms),
            ("completedAt", self.completed_at),
        ):
            if value is not None:
                item[attribute] = value
        if self.scope_keys:
            item["scopeKeys"] = set(self.scope_keys)
        if self.scopes_done:
            item["scopesDone"] = self.scopes_done
        if self.scopes_failed:
            item["scopesFailed"] = self.scopes_failed
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ScanAccountItem:
        """Read an account's progress item."""
        return cls(
            execution_id=execution_id_of(str(item["pk"])),
            account_id=str(item.get("accountId") or account_id_of(str(item["sk"]))),
            status=_str(item.get("status")),
            resource_count=_int(item.get("resourceCount")),
            duration_ms=_int(item.get("durationMs")),
            completed_at=_str(item.get("completedAt")),
            scopes_done=int(item.get("scopesDone", 0)),
            scopes_failed=int(item.get("scopesFailed", 0)),
            scope_keys=frozenset(str(k) for k in item.get("scopeKeys") or ()),
        )


def scan_account_items(items: Sequence[Mapping[str, Any]]) -> dict[str, ScanAccountItem]:
    """The per-account progress items among a scan execution's items, by account id."""
    return {
        a.account_id: a for a in (ScanAccountItem.from_item(i) for i in items if is_account_key(str(i.get("sk", ""))))
    }


def scan_status_item(items: Sequence[Mapping[str, Any]]) -> ScanStatusItem | None:
    """The STATUS item among a scan execution's items, if it was written."""
    found = next((i for i in items if i.get("sk") == SCAN_STATUS_SK), None)
    return ScanStatusItem.from_item(found) if found is not None else None
