"""The single table's vocabulary: key formats are the stored layout, typed items round-trip."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from inventory_core import items
from inventory_core.items import (
    Account,
    ResourceItem,
    ScanAccountItem,
    ScanStatusItem,
    scan_account_items,
    scan_status_item,
)
from inventory_events import Resource

ACCOUNT = "111122223333"
ARN = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"


def resource(**overrides: object) -> Resource:
    fields: dict[str, object] = {
        "resource_id": "i-0abc",
        "resource_arn": ARN,
        "resource_type": "ec2",
        "account_id": ACCOUNT,
        "region": "eu-west-1",
        "name": "web-1",
        "state": "running",
        "tags": {"env": "prod"},
        "metadata": {"InstanceType": "t3.micro"},
        "discovered_at": datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
    }
    return Resource.model_validate({**fields, **overrides})


def test_key_formats_are_the_stored_layout() -> None:
    # these strings are what deployed tables hold: changing one orphans every existing item
    assert items.account_key(ACCOUNT) == {"pk": "ACCOUNT#111122223333", "sk": "METADATA"}
    assert items.account_index_keys(ACCOUNT) == {"gsi1pk": "TYPE#ACCOUNT", "gsi1sk": ACCOUNT}
    assert items.resource_key(ACCOUNT, "ec2", ARN) == {"pk": "ACCOUNT#111122223333", "sk": f"INVENTORY#ec2#{ARN}"}
    assert items.resource_sk_prefix() == "INVENTORY#"
    assert items.resource_sk_prefix("s3") == "INVENTORY#s3#"
    assert items.account_lock_key(ACCOUNT) == {"pk": "LOCK#ACCOUNT#111122223333", "sk": "SCAN"}
    assert items.sync_lock_key(ACCOUNT) == {"pk": "ACCOUNT#111122223333", "sk": "SYNC#RUNNING"}
    assert items.scan_status_key("e1") == {"pk": "SCAN#e1", "sk": "STATUS"}
    assert items.scan_account_key("e1", ACCOUNT) == {"pk": "SCAN#e1", "sk": "ACCOUNT#111122223333"}
    assert items.scan_scope_key("e1", "k") == {"pk": "SCAN#e1", "sk": "SCOPE#k"}
    assert items.scope_sweeps_key("k") == {"pk": "SCOPE#k", "sk": "SWEEPS"}
    assert items.scope_lease_key("k") == {"pk": "SCOPE#k", "sk": "LEASE"}
    event_id = UUID("12345678-1234-5678-1234-567812345678")
    assert items.event_marker_key(event_id) == {"pk": f"EVENT#{event_id}", "sk": "PROCESSED"}
    assert items.journal_entry_key(42) == {"pk": "GRIDLOG#000000000042", "sk": "ENTRY"}
    assert items.journal_seq_of("GRIDLOG#000000000042") == 42
    assert items.rate_limit_key("user:ann", 7) == {"pk": "RATELIMIT#user:ann", "sk": "WINDOW#7"}
    assert items.scan_history_keys("2026-11-25T02:00:00.000000Z", "e1") == {
        "gsi1pk": "TYPE#SCAN",
        "gsi1sk": "2026-11-25T02:00:00.000000Z#e1",
    }


def test_key_parsers_invert_the_builders() -> None:
    assert items.account_id_of(items.account_pk(ACCOUNT)) == ACCOUNT
    assert items.execution_id_of(items.scan_pk("run-7")) == "run-7"
    assert items.is_account_key(items.scan_account_key("e", ACCOUNT)["sk"])
    assert not items.is_account_key(items.SCAN_STATUS_SK)
    assert items.account_id_of_item({"pk": "ACCOUNT#999988887777"}) == "999988887777"
    assert items.account_id_of_item({"pk": "ACCOUNT#x", "accountId": "999988887777"}) == "999988887777"


def test_an_observed_resource_is_the_projector_item() -> None:
    item = ResourceItem.observed(resource(), execution_id="run-1").to_item()
    seen = "2026-11-25T02:00:00.000000Z"
    assert item == {
        "pk": "ACCOUNT#111122223333",
        "sk": f"INVENTORY#ec2#{ARN}",
        "gsi1pk": "TYPE#INVENTORY",
        "gsi1sk": "ec2#eu-west-1#web-1",
        "gsi2pk": "REGION#eu-west-1",
        "gsi2sk": f"ec2#{seen}",
        "gsi3pk": "RESOURCE_TYPE#ec2",
        "gsi3sk": "111122223333#i-0abc",
        "resourceId": "i-0abc",
        "resourceArn": ARN,
        "resourceType": "ec2",
        "accountId": ACCOUNT,
        "name": "web-1",
        "region": "eu-west-1",
        "state": "running",
        "tags": {"env": "prod"},
        "metadata": {"InstanceType": "t3.micro"},
        "lastDiscoveredAt": seen,
        "firstDiscoveredAt": seen,
        "discoveryStatus": "active",
        "lastExecutionId": "run-1",
    }


def test_a_missing_resource_carries_missing_since_and_its_ttl() -> None:
    since = "2026-11-26T02:00:00.000000Z"
    item = ResourceItem.observed(
        resource(),
        execution_id="run-1",
        first_discovered_at="2026-10-01T02:00:00.000000Z",
        missing_since=since,
        ttl=1_798_250_400,
    ).to_item()
    assert (item["discoveryStatus"], item["missingSince"]) == ("missing", since)
    assert item["ttl"] == 1_798_250_400
    assert item["firstDiscoveredAt"] == "2026-10-01T02:00:00.000000Z"


@pytest.mark.parametrize("missing", [None, "2026-11-26T02:00:00.000000Z"])
def test_resource_item_round_trips(missing: str | None) -> None:
    typed = ResourceItem.observed(resource(), execution_id="run-1", missing_since=missing, ttl=1_798_250_400)
    assert ResourceItem.from_item(typed.to_item()) == typed


def test_a_resource_item_from_an_older_writer_reads_with_defaults() -> None:
    typed = ResourceItem.from_item(
        {"pk": "ACCOUNT#111122223333", "resourceType": "s3", "resourceArn": "arn:aws:s3:::b", "tags": {"n": 1}}
    )
    assert (typed.account_id, typed.discovery_status, typed.tags, typed.last_execution_id) == (
        ACCOUNT,
        "active",
        {"n": "1"},
        None,
    )
    assert "lastExecutionId" not in typed.to_item() and "ttl" not in typed.to_item()


def test_scan_status_item_round_trips_with_its_history_entry() -> None:
    started = ScanStatusItem(
        execution_id="e1",
        started_at="2026-11-25T02:00:00.000000Z",
        requested_by="otto",
        trigger="api",
        account_ids=(ACCOUNT,),
    )
    item = started.to_item()
    assert item == {
        "pk": "SCAN#e1",
        "sk": "STATUS",
        "status": "in_progress",
        "startedAt": "2026-11-25T02:00:00.000000Z",
        "requestedBy": "otto",
        "trigger": "api",
        "accountIds": [ACCOUNT],
        "executionId": "e1",
        "gsi1pk": "TYPE#SCAN",
        "gsi1sk": "2026-11-25T02:00:00.000000Z#e1",
    }
    assert ScanStatusItem.from_item(item) == started
    done = ScanStatusItem(
        execution_id="e1", status="completed", completed_at="x", duration_ms=5, resource_count=3, accounts_skipped=0
    )
    assert ScanStatusItem.from_item(done.to_item()) == done
    assert done.finished and not started.finished
    assert "gsi1pk" not in done.to_item()  # no start time, no history entry


def test_a_legacy_status_item_reads_its_execution_id_from_the_key() -> None:
    assert ScanStatusItem.from_item({"pk": "SCAN#legacy", "sk": "STATUS"}) == ScanStatusItem(execution_id="legacy")


def test_scan_account_items_round_trip_and_are_found_among_an_executions_items() -> None:
    progress = ScanAccountItem(
        execution_id="e1",
        account_id=ACCOUNT,
        status="success",
        resource_count=12,
        duration_ms=800,
        completed_at="2026-11-25T02:01:00.000000Z",
        scopes_done=2,
        scope_keys=frozenset({"a", "b"}),
    )
    assert ScanAccountItem.from_item(progress.to_item()) == progress
    execution = [
        ScanStatusItem(execution_id="e1", status="completed").to_item(),
        progress.to_item(),
        {**items.scan_scope_key("e1", "a"), "pages": {1}},
    ]
    assert scan_account_items(execution) == {ACCOUNT: progress}
    found = scan_status_item(execution)
    assert found is not None and found.status == "completed"
    assert scan_status_item(execution[1:]) is None


def test_account_round_trips() -> None:
    account = Account(ACCOUNT, "Prod", True, role_name="R", external_id="x", regions=("eu-west-1",))
    item = account.to_item()
    assert (item["pk"], item["sk"], item["gsi1pk"], item["gsi1sk"]) == (
        "ACCOUNT#111122223333",
        "METADATA",
        "TYPE#ACCOUNT",
        ACCOUNT,
    )
    assert Account.from_item(item) == account
