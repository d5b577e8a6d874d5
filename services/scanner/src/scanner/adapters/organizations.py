from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from inventory_core.dynamo import condition_failed
from inventory_core.items import Account


def organization_accounts(organizations: Any) -> list[Account]:
    """The ACTIVE member accounts of the caller's AWS Organization, not yet enabled for scanning."""
    accounts: list[Account] = []
    for page in organizations.get_paginator("list_accounts").paginate():
        for member in page.get("Accounts", []):
            if member.get("Status", "ACTIVE") == "ACTIVE":
                accounts.append(
                    Account(
                        account_id=member["Id"], account_name=member.get("Name") or member["Id"], sync_enabled=False
                    )
                )
    return sorted(accounts, key=lambda a: a.account_id)


class DynamoDbAccountImporter:
    """Adds Account items that do not exist yet; an existing account (and its syncEnabled) is left as it is."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def add_missing(self, accounts: list[Account]) -> list[Account]:
        added: list[Account] = []
        for account in accounts:
            try:
                self._table.put_item(Item=account.to_item(), ConditionExpression="attribute_not_exists(pk)")
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                continue
            added.append(account)
        return added
