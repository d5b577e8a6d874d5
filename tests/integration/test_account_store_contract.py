"""The same contract for the in-memory account store and the DynamoDB one, so the fake cannot drift."""

from __future__ import annotations

from typing import Any

import pytest
from inventory_api.adapters.dynamodb_accounts import DynamoDbAccountStore
from inventory_core.items import Account, account_key, account_pk

from tests.conftest import Stack, unique_accounts
from tests.fakes.operators import InMemoryAccountStore

pytestmark = pytest.mark.emulator


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryAccountStore()
    stack: Stack = request.getfixturevalue("stack")
    return DynamoDbAccountStore(stack.table)


def test_account_store_contract(store: Any) -> None:
    a, b = unique_accounts(2)
    item = Account(a, "A", True, role_name="NucleusAccess-A", external_id="ext-1").to_item()
    assert store.create(item) is True
    assert store.create({**item, "accountName": "other"}) is False
    assert store.get(a)["accountName"] == "A"
    assert store.get(b) is None

    updated = store.update(a, {"syncEnabled": False, "regions": ["eu-west-1"]}, ["externalId", "roleName"])
    assert updated is not None
    assert (updated["syncEnabled"], updated["regions"]) == (False, ["eu-west-1"])
    assert "externalId" not in updated and "roleName" not in updated
    assert store.update(b, {"syncEnabled": True}, []) is None
    assert store.get(b) is None  # an update never creates

    nucleus = {**account_key(b), "accountName": "N"}
    if isinstance(store, InMemoryAccountStore):
        store.items[b] = nucleus
    else:
        store._table.put_item(Item=nucleus)
    assert [i["pk"] for i in store.unindexed()] == [account_pk(b)]

    assert store.delete(a)["accountName"] == "A"
    assert store.delete(a) is None
    assert store.get(a) is None
