from __future__ import annotations

import pytest
from inventory_core.items import Account
from scanner.adapters.aws_session import role_arn_for
from scanner.ports import AssumeRoleError

A = "111111111111"


def test_the_default_role_is_nucleus_access_inventory_in_the_target_account() -> None:
    assert (
        role_arn_for(Account(A, "a", True), "NucleusAccess-Inventory")
        == f"arn:aws:iam::{A}:role/NucleusAccess-Inventory"
    )


def test_an_account_item_can_name_its_own_role() -> None:
    assert role_arn_for(Account(A, "a", True, role_name="NucleusAccess-ReadOnly"), "NucleusAccess-Inventory").endswith(
        ":role/NucleusAccess-ReadOnly"
    )
    arn = f"arn:aws:iam::{A}:role/NucleusAccess-Custom"
    assert role_arn_for(Account(A, "a", True, role_arn=arn), "NucleusAccess-Inventory") == arn


@pytest.mark.parametrize(
    ("account", "message"),
    [
        (Account(A, "a", True, role_name="OrganizationAccountAccessRole"), "outside NucleusAccess-*"),
        (Account(A, "a", True, role_arn=f"arn:aws:iam::{A}:role/Admin"), "outside NucleusAccess-*"),
        (Account(A, "a", True, role_arn="arn:aws:iam::222222222222:role/NucleusAccess-X"), "not in account"),
    ],
)
def test_roles_outside_nucleus_access_or_the_account_are_refused(account: Account, message: str) -> None:
    with pytest.raises(AssumeRoleError, match=message):
        role_arn_for(account, "NucleusAccess-Inventory")
