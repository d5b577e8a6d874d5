"""Key formats and item shapes of the DynamoDB single table (TRD section 3.1, ARCHITECTURE.md).

Every service that reads or writes the table builds its keys here, so the formats live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACCOUNT_SK = "METADATA"
ALL_RESOURCES_GSI1PK = "TYPE#INVENTORY"
ALL_ACCOUNTS_GSI1PK = "TYPE#ACCOUNT"
#: GSI1 partition of the scan executions' STATUS items, sorted by ``{startedAt}#{executionId}`` (scan history).
ALL_SCANS_GSI1PK = "TYPE#SCAN"


def account_pk(account_id: str) -> str:
    """Partition key of an account and of its resources."""
    return f"ACCOUNT#{account_id}"


def resource_sk(resource_type: str, resource_arn: str) -> str:
    """Sort key of a resource item."""
    return f"INVENTORY#{resource_type}#{resource_arn}"


def resource_sk_prefix(resource_type: str | None = None) -> str:
    """Sort key prefix of an account's resources, optionally of one type."""
    return f"INVENTORY#{resource_type}#" if resource_type else "INVENTORY#"


def region_gsi2pk(region: str) -> str:
    """GSI2 partition: resources by region."""
    return f"REGION#{region}"


def type_gsi3pk(resource_type: str) -> str:
    """GSI3 partition: resources by type."""
    return f"RESOURCE_TYPE#{resource_type}"


def scan_pk(execution_id: str) -> str:
    """Partition key of a scan execution."""
    return f"SCAN#{execution_id}"


def scan_history_keys(started_at: str, execution_id: str) -> dict[str, str]:
    """GSI1 keys that list a scan execution's STATUS item in the scan history, newest first."""
    return {"gsi1pk": ALL_SCANS_GSI1PK, "gsi1sk": f"{started_at}#{execution_id}"}


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
    def from_item(cls, item: dict[str, Any]) -> Account:
        """Read an Account item (plain Python values, as the boto3 resource layer returns them)."""
        return cls(
            account_id=str(item["pk"]).removeprefix("ACCOUNT#"),
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
            "pk": account_pk(self.account_id),
            "sk": ACCOUNT_SK,
            "gsi1pk": ALL_ACCOUNTS_GSI1PK,
            "gsi1sk": self.account_id,
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
