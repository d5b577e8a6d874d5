"""One contract, two stores: the same scenarios against InMemoryResourceStore and DynamoDbResourceStore on moto.

Both call the rules of ``ddb_projector.rules``; this test proves the fake and the real adapter also agree on
what they store from them, so unit tests on the fake speak for the real table. One table serves the module;
each test uses accounts of its own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from ddb_projector.adapters.dynamodb_store import DynamoDbResourceStore
from inventory_cli.provision import create_table
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account, account_pk, resource_sk_prefix, scan_account_key
from inventory_core.timefmt import iso
from inventory_core.topology import build_topology

from tests.builders import T0, account_completed, later, page, resource, scope, scope_completed
from tests.conftest import HOME_ACCOUNT, HOME_REGION, unique_accounts
from tests.fakes import InMemoryResourceStore

pytestmark = pytest.mark.emulator

RETENTION = timedelta(days=30)
SIGHTING = ("state", "lastDiscoveredAt", "firstDiscoveredAt", "lastExecutionId")
COMPARED = (*SIGHTING, "discoveryStatus", "missingSince", "ttl")


class Subject:
    """A store under contract, its resource items read back the same way whichever it is."""

    def __init__(self, store: DynamoDbResourceStore | InMemoryResourceStore, table: Any | None) -> None:
        self.store = store
        self._table = table

    def items(self, account: str) -> dict[str, dict[str, Any]]:
        if self._table is None:
            assert isinstance(self.store, InMemoryResourceStore)
            found = [i for i in self.store.items.values() if i["accountId"] == account]
        else:
            found = self._table.query(
                KeyConditionExpression=Key("pk").eq(account_pk(account)) & Key("sk").begins_with(resource_sk_prefix()),
                ConsistentRead=True,
            )["Items"]
        return {i["resourceArn"]: {k: int(i[k]) if k == "ttl" else i[k] for k in COMPARED if k in i} for i in found}

    def item(self, account: str, n: int) -> dict[str, Any]:
        return self.items(account)[resource(n, account_id=account).resource_arn]

    def progress(self, execution_id: str, account: str) -> dict[str, Any]:
        """The scan's per-account progress: counters and the counted scope keys."""
        if self._table is None:
            assert isinstance(self.store, InMemoryResourceStore)
            found = self.store.scan_accounts.get((execution_id, account), {})
        else:
            found = self._table.get_item(Key=scan_account_key(execution_id, account), ConsistentRead=True)["Item"]
        return {k: found[k] for k in ("scopesDone", "scopesFailed", "scopeKeys") if k in found}

    def register(self, account: str) -> None:
        if self._table is None:
            assert isinstance(self.store, InMemoryResourceStore)
            self.store.register_account(account)
        else:
            self._table.put_item(Item=Account(account, f"acct-{account}", True).to_item())


@pytest.fixture(scope="module")
def table(moto_endpoint: str) -> Any:
    topology = build_topology(HOME_ACCOUNT, HOME_REGION, prefix=f"c{uuid.uuid4().hex[:8]}-")
    clients = AwsClientFactory(HOME_REGION)
    create_table(clients, topology.table)
    return clients.dynamodb_table(topology.table.name)


@pytest.fixture(params=["fake", "dynamodb"])
def subject(request: pytest.FixtureRequest, moto_endpoint: str) -> Iterator[Subject]:
    # moto_endpoint (session: it sets the AWS_* variables) is set up before the test's environment snapshot
    if request.param == "fake":
        yield Subject(InMemoryResourceStore(retention=RETENTION), None)
    else:
        table = request.getfixturevalue("table")
        yield Subject(DynamoDbResourceStore(table, retention=RETENTION, threads=2), table)


def sweep(s: Subject, account: str, started: datetime, execution_id: str) -> int:
    return s.store.mark_missing(scope(account), started, execution_id)


def missing(since: datetime) -> dict[str, Any]:
    return {"discoveryStatus": "missing", "missingSince": iso(since), "ttl": int((since + RETENTION).timestamp())}


def expected(
    state: str, last: datetime, first: datetime, execution_id: str, gone_since: datetime | None = None
) -> dict[str, Any]:
    """A resource item's compared attributes: active, or missing since ``gone_since``."""
    status = missing(gone_since) if gone_since else {"discoveryStatus": "active"}
    return dict(zip(SIGHTING, (state, iso(last), iso(first), execution_id), strict=True)) | status


@pytest.mark.parametrize("older_first", [True, False])
def test_the_newer_sighting_wins_and_first_discovered_keeps_the_oldest(subject: Subject, older_first: bool) -> None:
    (acct,) = unique_accounts(1)
    old = page([resource(1, account_id=acct, at=T0)], execution_id="s1")
    new = page([resource(1, account_id=acct, at=later(60), state="stopped")], execution_id="s2", started=later(59))
    written = [subject.store.apply_page(e).written for e in ((old, new) if older_first else (new, old))]
    assert written == ([1, 1] if older_first else [1, 0])  # an older sighting rewrites nothing
    assert subject.item(acct, 1) == expected("stopped", later(60), T0, "s2")


def test_a_page_repeating_a_resource_keeps_its_newest_sighting(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    early, late = resource(1, account_id=acct, at=T0), resource(1, account_id=acct, at=later(1), state="stopped")
    subject.store.apply_page(page([late, early]))
    assert subject.item(acct, 1)["state"] == "stopped"
    assert subject.item(acct, 1)["firstDiscoveredAt"] == iso(later(1))  # one page, one sighting per resource


def test_duplicate_pages_and_sweeps_change_nothing_the_second_time(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    first = page([resource(n, account_id=acct) for n in (1, 2)], execution_id="s1")
    second = page([resource(1, account_id=acct, at=later(60))], execution_id="s2", started=later(59))
    assert [subject.store.apply_page(first).written, subject.store.apply_page(first).written] == [2, 0]
    subject.store.apply_page(second)
    before = subject.items(acct)
    assert [sweep(subject, acct, later(59), "s2"), sweep(subject, acct, later(59), "s2")] == [1, 0]
    assert subject.store.apply_page(second).written == 0
    gone, seen = (resource(n, account_id=acct).resource_arn for n in (2, 1))
    assert subject.items(acct) == {gone: before[gone] | missing(later(59)), seen: before[seen]}
    assert subject.store.pages_applied("s1", scope(acct)) == 1


def test_a_complete_sweep_marks_missing_only_what_its_scope_did_not_see(subject: Subject) -> None:
    # GIVEN two resources of the scope and one of the same type in another region, seen by scan s1
    (acct,) = unique_accounts(1)
    subject.store.apply_page(page([resource(n, account_id=acct) for n in (1, 2)], execution_id="s1"))
    subject.store.apply_page(page([resource(3, account_id=acct, region="eu-west-1")], execution_id="s1"))
    # WHEN scan s2 sees only resource 1 in us-east-1 and sweeps that scope
    subject.store.apply_page(page([resource(1, account_id=acct, at=later(60))], execution_id="s2", started=later(59)))
    marked = sweep(subject, acct, later(59), "s2")
    # THEN resource 2 is missing since s2's start, 1 and the other region's 3 stay active
    assert marked == 1
    items = subject.items(acct)
    assert items[resource(2, account_id=acct).resource_arn] == expected("running", T0, T0, "s1", later(59))
    assert items[resource(1, account_id=acct).resource_arn]["discoveryStatus"] == "active"
    assert items[resource(3, account_id=acct, region="eu-west-1").resource_arn]["discoveryStatus"] == "active"


def test_a_late_page_of_an_older_scan_cannot_revive_or_bring_in_as_active(subject: Subject) -> None:
    # GIVEN resource 1 seen by s1, then a complete sweep of s3 that did not see it
    (acct,) = unique_accounts(1)
    subject.store.apply_page(page([resource(1, account_id=acct)], execution_id="s1"))
    sweep(subject, acct, later(90), "s3")
    # WHEN a late page of s2 (started before s3) carries resource 1 and a resource 2 never seen before
    late = [resource(n, account_id=acct, at=later(30)) for n in (1, 2)]
    assert subject.store.apply_page(page(late, execution_id="s2", started=later(29))).written == 2
    # THEN both are written with s2's sighting, missing since s3's start
    assert subject.item(acct, 1) == expected("running", later(30), T0, "s2", later(90))
    assert subject.item(acct, 2) == expected("running", later(30), later(30), "s2", later(90))


def test_missing_since_is_the_earliest_sweep_that_missed_it_whatever_their_order(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    subject.store.apply_page(page([resource(1, account_id=acct)], execution_id="s1"))
    sweep(subject, acct, later(90), "s3")
    assert sweep(subject, acct, later(60), "s2") == 1  # the older sweep, processed late, moves it back
    assert sweep(subject, acct, later(120), "s4") == 0
    assert subject.item(acct, 1)["missingSince"] == iso(later(60))


def test_a_reappearance_after_the_sweep_clears_missing(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    subject.store.apply_page(page([resource(1, account_id=acct)], execution_id="s1"))
    sweep(subject, acct, later(90), "s3")
    subject.store.apply_page(page([resource(1, account_id=acct, at=later(95))], execution_id="s4", started=later(94)))
    assert subject.item(acct, 1) == expected("running", later(95), T0, "s4")


def test_a_failed_scope_sweeps_nothing_through_the_store(subject: Subject) -> None:
    # the store is never asked to sweep a failed scope; its progress counts it failed, once
    (acct,) = unique_accounts(1)
    subject.store.apply_page(page([resource(1, account_id=acct)], execution_id="s1"))
    failed = scope_completed(scope(acct), execution_id="s2", pages=0, started=later(59), status="failed")
    subject.store.record_scope_progress(failed)
    subject.store.record_scope_progress(failed)
    assert subject.item(acct, 1)["discoveryStatus"] == "active"
    assert subject.progress("s2", acct) == {"scopesFailed": 1, "scopeKeys": {scope(acct).key}}


def test_a_redelivered_completion_counts_its_scope_once(subject: Subject) -> None:
    # GIVEN two scopes of one account completing in scan s1, the first one delivered three times
    (acct,) = unique_accounts(1)
    east = scope_completed(scope(acct), execution_id="s1", pages=0)
    west = scope_completed(scope(acct, region="us-west-2"), execution_id="s1", pages=0, status="failed")
    # WHEN the store records them (a redelivery as the same event and as a new message of the same scope)
    for event in (east, east, west, scope_completed(scope(acct), execution_id="s1", pages=0)):
        subject.store.record_scope_progress(event)
    # THEN each scope counted once
    assert subject.progress("s1", acct) == {
        "scopesDone": 1,
        "scopesFailed": 1,
        "scopeKeys": {scope(acct).key, scope(acct, region="us-west-2").key},
    }


def test_a_parked_completion_is_returned_to_the_writer_of_its_pages(subject: Subject) -> None:
    # GIVEN a completion of a two-page scope parked before any page
    (acct,) = unique_accounts(1)
    done = scope_completed(scope(acct), execution_id="s1", pages=2)
    parked = subject.store.park_completion(done)
    assert (parked.pages, parked.parked) == (0, done)
    # WHEN its pages are applied, THEN each write returns the marker with the parked completion
    first = subject.store.apply_page(page([resource(1, account_id=acct)], execution_id="s1"))
    last = subject.store.apply_page(page([resource(2, account_id=acct)], execution_id="s1", page_no=2))
    assert [(m.marker.pages, m.marker.parked) for m in (first, last)] == [(1, done), (2, done)]
    # and parking again (a redelivered completion) sees both pages
    assert subject.store.park_completion(done).pages == subject.store.pages_applied("s1", scope(acct)) == 2


def test_an_account_takes_the_status_of_its_latest_scan_only(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    subject.register(acct)
    first = subject.store.record_account_scan(account_completed(acct, execution_id="s2", count=7, started=later(60)))
    duplicate = subject.store.record_account_scan(
        account_completed(acct, execution_id="s2", count=7, started=later(60))
    )
    older = subject.store.record_account_scan(
        account_completed(acct, execution_id="s1", count=3, status="failed", started=T0)
    )
    newer = subject.store.record_account_scan(account_completed(acct, execution_id="s3", count=9, started=later(120)))
    unknown = subject.store.record_account_scan(account_completed(unique_accounts(1)[0], started=later(120)))
    assert first is not None and first.previous_success_count is None
    assert (duplicate, older, unknown) == (None, None, None)
    assert newer is not None and newer.previous_success_count == 7


# -- races: pages of one scope at once, duplicates at once, the next scan against a sweep --


def on_threads(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once (a barrier releases them together); their results in order, errors re-raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_pages_of_one_scope_applied_at_once_all_land_and_count(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    pages = [
        page([resource(p * 10 + n, account_id=acct) for n in range(10)], page_no=p + 1, execution_id="s1")
        for p in range(4)
    ]
    written = on_threads(*(lambda e=e: subject.store.apply_page(e).written for e in pages))
    assert written == [10, 10, 10, 10]
    assert len(subject.items(acct)) == 40
    assert subject.store.pages_applied("s1", scope(acct)) == 4


def test_a_duplicate_page_applied_twice_at_once_writes_each_item_once(subject: Subject) -> None:
    (acct,) = unique_accounts(1)
    twice = page([resource(n, account_id=acct) for n in range(20)], execution_id="s1")
    written = on_threads(
        lambda: subject.store.apply_page(twice).written, lambda: subject.store.apply_page(twice).written
    )
    assert sum(int(str(w)) for w in written) == 20  # one conditional write wins per item, the other writes nothing
    assert subject.store.pages_applied("s1", scope(acct)) == 1
    assert {i["discoveryStatus"] for i in subject.items(acct).values()} == {"active"}


def test_a_page_of_the_next_scan_racing_the_sweep_of_the_last_loses_nothing(subject: Subject) -> None:
    # GIVEN resources 0-9 seen by s1 only, 10-19 by s1 and s2; s2's sweep will miss 0-9
    (acct,) = unique_accounts(1)
    subject.store.apply_page(page([resource(n, account_id=acct) for n in range(20)], execution_id="s1"))
    s2 = [resource(n, account_id=acct, at=later(30)) for n in range(10, 20)]
    subject.store.apply_page(page(s2, execution_id="s2", started=later(29)))
    # WHEN s2's sweep and s3's page with all 20 run at once
    s3 = page([resource(n, account_id=acct, at=later(60)) for n in range(20)], execution_id="s3", started=later(59))
    on_threads(lambda: sweep(subject, acct, later(29), "s2"), lambda: subject.store.apply_page(s3))
    # THEN every resource shows s3's sighting, active, whichever write landed first
    assert {(i["lastDiscoveredAt"], i["discoveryStatus"]) for i in subject.items(acct).values()} == {
        (iso(later(60)), "active")
    }
    assert all("missingSince" not in i for i in subject.items(acct).values())
