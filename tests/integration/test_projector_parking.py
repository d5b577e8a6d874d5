"""A scope's completion that arrives before its pages is parked, and swept by whichever writer sees both (moto).

The race: a ScopeCompleted and the scope's last page handled at the same moment by two consumers. Each side
writes first and checks what its own write returned (the page: the marker with a parked completion; the
completion: the pages recorded), so one of the two always sweeps, whatever the interleaving.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from ddb_projector.adapters.dynamodb_markers import DynamoDbProcessedEvents
from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore
from ddb_projector.handler import handle_batch
from ddb_projector.ports import ResourceStore
from ddb_projector.service import ProjectorService
from inventory_cli.provision import create_table
from inventory_core.aws import AwsClientFactory
from inventory_core.items import account_pk, resource_sk_prefix, scan_account_key, scan_scope_key
from inventory_core.topology import build_topology
from inventory_events import ResourcesDiscovered, ScopeCompleted

from tests.builders import T0, later, page, resource, scope, scope_completed, sqs_event
from tests.conftest import HOME_ACCOUNT, HOME_REGION, unique_accounts
from tests.fakes import InMemoryProjectorMetrics, LastPageLandsDuring

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def table(moto_endpoint: str) -> Any:
    topology = build_topology(HOME_ACCOUNT, HOME_REGION, prefix=f"k{uuid.uuid4().hex[:8]}-")
    clients = AwsClientFactory(HOME_REGION)
    create_table(clients, topology.table)
    return clients.dynamodb_table(topology.table.name)


def service(store: ResourceStore, table: Any) -> ProjectorService:
    return ProjectorService(store, processed=DynamoDbProcessedEvents(table), metrics=InMemoryProjectorMetrics())


def status(table: Any, account: str) -> dict[str, str]:
    found = table.query(
        KeyConditionExpression=Key("pk").eq(account_pk(account)) & Key("sk").begins_with(resource_sk_prefix()),
        ConsistentRead=True,
    )["Items"]
    return {str(i["resourceArn"]): str(i["discoveryStatus"]) for i in found}


def two_page_scan(acct: str) -> tuple[ResourcesDiscovered, ResourcesDiscovered, ScopeCompleted]:
    """Page 1 and 2 and the completion of scan ``new`` (resources 1 and 3; an older scan saw 1 and 2)."""
    first, last = (
        page([resource(n, account_id=acct, at=later(60))], execution_id="new", page_no=no, started=later(59))
        for n, no in ((1, 1), (3, 2))
    )
    return first, last, scope_completed(scope(acct), execution_id="new", pages=2, started=later(59))


def assert_swept_once(table: Any, acct: str) -> None:
    arn = {n: resource(n, account_id=acct).resource_arn for n in (1, 2, 3)}
    assert status(table, acct) == {arn[1]: "active", arn[2]: "missing", arn[3]: "active"}
    progress = table.get_item(Key=scan_account_key("new", acct), ConsistentRead=True)["Item"]
    assert (progress["scopesDone"], progress["scopeKeys"]) == (1, {scope(acct).key})


@pytest.mark.parametrize("when", ["before check", "between check and park", "after park"])
def test_a_completion_and_its_last_page_in_any_interleaving_sweep_the_scope(table: Any, when: str) -> None:
    # GIVEN resources 1 and 2 seen by an older scan, and page 1 of the new scan applied
    (acct,) = unique_accounts(1)
    first, last, done = two_page_scan(acct)
    store = LastPageLandsDuring(DynamoDbResourceStore(table, threads=2), when, last)
    store.writer = service(DynamoDbResourceStore(table, threads=2), table).handle
    mine = service(store, table)
    mine.handle(page([resource(n, account_id=acct) for n in (1, 2)], execution_id="old", started=T0))
    mine.handle(first)
    # WHEN the completion is handled while another consumer applies the last page
    mine.handle(done)
    # THEN the scope is swept (2 missing) and counted once
    assert_swept_once(table, acct)


def test_racing_completions_and_last_pages_on_threads_always_sweep(table: Any) -> None:
    # GIVEN six accounts, each with page 1 of the new scan applied
    accounts = unique_accounts(6)
    scans = {acct: two_page_scan(acct) for acct in accounts}
    setup = service(DynamoDbResourceStore(table, threads=2), table)
    for acct, (first, _, _) in scans.items():
        setup.handle(page([resource(n, account_id=acct) for n in (1, 2)], execution_id="old", started=T0))
        setup.handle(first)

    # WHEN each account's completion and last page are released at the same moment on two consumers
    def race(acct: str) -> None:
        _, last, done = scans[acct]
        start = threading.Barrier(2)

        def deliver(event: ResourcesDiscovered | ScopeCompleted) -> None:
            consumer = service(DynamoDbResourceStore(table, threads=1), table)
            start.wait()
            consumer.handle(event)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(deliver, [done, last]))

    for acct in accounts:
        race(acct)
    # THEN every scope was swept and counted once, without a retry
    for acct in accounts:
        assert_swept_once(table, acct)


def test_a_batch_with_a_completion_before_its_page_fails_no_record(table: Any) -> None:
    # GIVEN one SQS batch in which the completion comes before its only page
    (acct,) = unique_accounts(1)
    projector = service(DynamoDbResourceStore(table, threads=2), table)
    projector.handle(page([resource(n, account_id=acct) for n in (1, 2)], execution_id="old", started=T0))
    only = page([resource(1, account_id=acct, at=later(60))], execution_id="new", started=later(59))
    done = scope_completed(scope(acct), execution_id="new", pages=1, started=later(59))
    # WHEN the projector handles the batch
    response = handle_batch(sqs_event(done, only), None, projector)
    # THEN no record goes back to the queue (no retry delay, no receive spent) and the scope is swept
    assert response["batchItemFailures"] == []
    assert status(table, acct)[resource(2, account_id=acct).resource_arn] == "missing"
    marker = table.get_item(Key=scan_scope_key("new", scope(acct).key), ConsistentRead=True)["Item"]
    assert ScopeCompleted.model_validate_json(str(marker["parkedCompletion"])) == done
    assert int(marker["ttl"]) > time.time()  # the parked completion expires with its marker
