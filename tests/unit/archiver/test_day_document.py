"""The day's raw document is the union of the day's scans, scope by scope (issue 15), on an in-memory store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from archiver.document import CorruptDocumentError, DayDocument
from archiver.ports import WriteConflictError
from archiver.service import ArchiverService, raw_key
from inventory_events import GLOBAL_REGION, AccountScanCompleted, Resource, ResourcesDiscovered, Scope, ScopeSummary

from tests.builders import T0, resource
from tests.unit.archiver.memory_store import MemoryObjectStore

A = "111111111111"
KEY = raw_key(
    AccountScanCompleted(
        execution_id="k", account_id=A, status="success", resource_count=0, duration_ms=0, scan_started_at=T0
    )
)


def res(n: int, region: str, resource_type: str) -> Resource:
    r = resource(n, region=region, resource_type=resource_type)
    return r.model_copy(update={"raw": {"Id": f"{resource_type}-{region}-{n}"}})


def scan(
    service: ArchiverService,
    execution_id: str,
    started: datetime,
    scopes: dict[tuple[str, str], list[Resource]],
    *,
    failed: frozenset[tuple[str, str]] = frozenset(),
) -> AccountScanCompleted:
    """Stage each scope's items as one page and complete the account, as the scanner's events would."""
    summaries = []
    for (region, resource_type), items in scopes.items():
        sc = Scope(account_id=A, region=region, resource_type=resource_type)
        if items:
            service.handle(
                ResourcesDiscovered(
                    execution_id=execution_id, scope=sc, page=1, scan_started_at=started, resources=items
                )
            )
        status = "failed" if (region, resource_type) in failed else "complete"
        summaries.append(ScopeSummary(scope=sc, status=status, resource_count=len(items), page_count=1 if items else 0))
    done = AccountScanCompleted(
        execution_id=execution_id,
        account_id=A,
        status="partial" if failed else "success",
        resource_count=sum(len(i) for i in scopes.values()),
        duration_ms=1,
        scan_started_at=started,
        scopes=summaries,
        failed_scopes=[Scope(account_id=A, region=r, resource_type=t) for r, t in failed],
    )
    service.handle(done)
    return done


def ids(store: MemoryObjectStore) -> dict[str, dict[str, list[str]]]:
    doc = store.objects[KEY]
    return {
        r: {t: sorted(i["Id"] for i in items) for t, items in by_type.items()} for r, by_type in doc["regions"].items()
    }


def scope_of(store: MemoryObjectStore, region: str, resource_type: str) -> dict[str, Any]:
    (entry,) = [s for s in store.objects[KEY]["scopes"] if (s["region"], s["resourceType"]) == (region, resource_type)]
    return dict(entry)


FULL = {
    ("us-east-1", "ec2"): [res(1, "us-east-1", "ec2"), res(2, "us-east-1", "ec2")],
    ("eu-west-1", "ec2"): [res(3, "eu-west-1", "ec2")],
    ("us-east-1", "vpc"): [res(4, "us-east-1", "vpc")],
    (GLOBAL_REGION, "s3"): [res(5, "us-east-1", "s3"), res(6, "eu-west-1", "s3")],
}


def test_a_narrower_later_scan_replaces_only_the_scopes_it_covered() -> None:
    store = MemoryObjectStore()
    service = ArchiverService(store)
    scan(service, "full", T0, FULL)
    scan(service, "narrow", T0 + timedelta(hours=3), {("us-east-1", "ec2"): [res(7, "us-east-1", "ec2")]})
    assert ids(store) == {
        "us-east-1": {"ec2": ["ec2-us-east-1-7"], "vpc": ["vpc-us-east-1-4"], "s3": ["s3-us-east-1-5"]},
        "eu-west-1": {"ec2": ["ec2-eu-west-1-3"], "s3": ["s3-eu-west-1-6"]},
    }
    doc = store.objects[KEY]
    assert doc["resourceCount"] == 5 and doc["day"] == "2026-11-25" and doc["layout"] == 2
    assert scope_of(store, "us-east-1", "ec2")["executionId"] == "narrow"
    assert scope_of(store, "us-east-1", "vpc") == {
        "region": "us-east-1",
        "resourceType": "vpc",
        "executionId": "full",
        "scanStartedAt": T0.isoformat(),
        "complete": True,
        "resourceCount": 1,
        "itemRegions": {"us-east-1": 1},
    }
    assert scope_of(store, GLOBAL_REGION, "s3")["itemRegions"] == {"us-east-1": 1, "eu-west-1": 1}
    assert [e["executionId"] for e in doc["executions"]] == ["full", "narrow"]


def test_a_failed_scope_never_replaces_a_complete_one_but_fills_an_empty_one() -> None:
    store = MemoryObjectStore()
    service = ArchiverService(store)
    scan(service, "full", T0, {("us-east-1", "ec2"): [res(1, "us-east-1", "ec2")]})
    later = T0 + timedelta(hours=1)
    scan(
        service,
        "retry",
        later,
        {("us-east-1", "ec2"): [res(9, "us-east-1", "ec2")], ("us-west-2", "ec2"): [res(8, "us-west-2", "ec2")]},
        failed=frozenset({("us-east-1", "ec2"), ("us-west-2", "ec2")}),
    )
    assert ids(store) == {"us-east-1": {"ec2": ["ec2-us-east-1-1"]}, "us-west-2": {"ec2": ["ec2-us-west-2-8"]}}
    kept = scope_of(store, "us-east-1", "ec2")
    assert kept["complete"] is True and kept["executionId"] == "full"
    assert kept["notReplacedBy"] == [{"executionId": "retry", "scanStartedAt": later.isoformat(), "complete": False}]
    assert scope_of(store, "us-west-2", "ec2")["complete"] is False
    # a complete observation later that day replaces the partial one
    scan(service, "third", T0 + timedelta(hours=2), {("us-west-2", "ec2"): []})
    assert "us-west-2" not in ids(store)
    assert scope_of(store, "us-west-2", "ec2")["complete"] is True


def test_an_older_complete_scan_arriving_late_does_not_replace_a_newer_one() -> None:
    store = MemoryObjectStore()
    service = ArchiverService(store)
    scan(service, "new", T0 + timedelta(hours=2), {("us-east-1", "ec2"): [res(2, "us-east-1", "ec2")]})
    scan(service, "old", T0, {("us-east-1", "ec2"): [res(1, "us-east-1", "ec2")], ("us-east-1", "vpc"): []})
    assert ids(store) == {"us-east-1": {"ec2": ["ec2-us-east-1-2"]}}
    assert scope_of(store, "us-east-1", "vpc")["executionId"] == "old"  # a scope only the old scan covered


def test_a_redelivered_account_completion_writes_nothing() -> None:
    store = MemoryObjectStore()
    service = ArchiverService(store)
    done = scan(service, "full", T0, FULL)
    before = (store.objects[KEY], store.etags[KEY])
    service.handle(done)
    assert (store.objects[KEY], store.etags[KEY]) == before


def test_a_rival_write_between_read_and_write_is_merged_not_lost() -> None:
    store = MemoryObjectStore()
    service = ArchiverService(store, sleep=lambda _s: None)
    rival = ArchiverService(store, sleep=lambda _s: None)
    scan(service, "first", T0, {("us-east-1", "ec2"): [res(1, "us-east-1", "ec2")]})
    # GIVEN another writer merges its own scan right after this one read the document

    def rival_merges(_key: str) -> None:
        scan(rival, "rival", T0, {("us-east-1", "vpc"): [res(2, "us-east-1", "vpc")]})

    store.after_read = rival_merges
    # WHEN this writer merges a third scan
    scan(service, "third", T0, {("eu-west-1", "ec2"): [res(3, "eu-west-1", "ec2")]})
    # THEN its first write lost, it merged again, and every scan's scope is there
    assert store.conflicts == 1
    assert ids(store) == {
        "us-east-1": {"ec2": ["ec2-us-east-1-1"], "vpc": ["vpc-us-east-1-2"]},
        "eu-west-1": {"ec2": ["ec2-eu-west-1-3"]},
    }


def test_endless_conflicts_fail_the_message_instead_of_writing_blind() -> None:
    class AlwaysLosing(MemoryObjectStore):
        def put_json_if(self, key: str, document: Any, *, etag: str | None) -> None:
            self.conflicts += 1
            raise WriteConflictError(key)

    store = AlwaysLosing()
    service = ArchiverService(store, merge_attempts=3, sleep=lambda _s: None)
    with pytest.raises(WriteConflictError, match="3 conditional writes"):
        scan(service, "x", T0, {("us-east-1", "ec2"): [res(1, "us-east-1", "ec2")]})
    assert store.conflicts == 3 and KEY not in store.objects


def test_a_document_of_the_one_scan_layout_is_read_as_scopes_of_that_scan() -> None:
    store = MemoryObjectStore()
    store.put_json(
        KEY,
        {
            "accountId": A,
            "executionId": "legacy",
            "scanStartedAt": T0.isoformat(),
            "status": "partial",
            "resourceCount": 3,
            "failedScopes": [{"account_id": A, "region": "eu-west-1", "resource_type": "ec2"}],
            "regions": {
                "us-east-1": {"ec2": [{"Id": "old-ec2"}], "s3": [{"Id": "old-bucket"}]},
                "eu-west-1": {"ec2": [{"Id": "old-partial"}]},
            },
        },
    )
    service = ArchiverService(store)
    later = T0 + timedelta(hours=1)
    scan(service, "new", later, {(GLOBAL_REGION, "s3"): [res(5, "eu-west-1", "s3")]})
    scan(service, "new2", later, {("eu-west-1", "ec2"): [res(6, "eu-west-1", "ec2")]})
    # the global s3 scope replaced the legacy s3 entries; the partial legacy ec2 scope gave way to a complete one
    assert ids(store) == {
        "us-east-1": {"ec2": ["old-ec2"]},
        "eu-west-1": {"s3": ["s3-eu-west-1-5"], "ec2": ["ec2-eu-west-1-6"]},
    }
    assert scope_of(store, "us-east-1", "ec2") | {"legacy": True} == scope_of(store, "us-east-1", "ec2")
    assert [e["executionId"] for e in store.objects[KEY]["executions"]] == ["legacy", "new", "new2"]


@pytest.mark.parametrize(
    "document",
    [
        ["not", "an", "object"],
        {"regions": {"us-east-1": {"ec2": [{"Id": 1}]}}, "scopes": []},  # items that belong to no scope
        {
            "regions": {},
            "scopes": [
                {
                    "region": "us-east-1",
                    "resourceType": "ec2",
                    "executionId": "x",
                    "scanStartedAt": T0.isoformat(),
                    "complete": True,
                    "itemRegions": {"us-east-1": 2},
                }
            ],
        },
    ],
)
def test_a_document_that_does_not_add_up_is_refused_and_left_untouched(document: Any) -> None:
    store = MemoryObjectStore()
    store.put_json(KEY, document)
    with pytest.raises(CorruptDocumentError):
        scan(ArchiverService(store), "x", T0, {("us-east-1", "ec2"): [res(1, "us-east-1", "ec2")]})
    assert store.objects[KEY] == document


def test_render_then_parse_round_trips() -> None:
    store = MemoryObjectStore()
    scan(ArchiverService(store), "full", T0, FULL)
    rendered = store.objects[KEY]
    assert DayDocument.parse(rendered, account_id=A, day="2026-11-25").render() == rendered


def test_between_two_partial_observations_the_newer_wins_unless_it_found_nothing() -> None:
    store = MemoryObjectStore()
    service = ArchiverService(store)
    east = ("us-east-1", "ec2")
    scan(service, "p1", T0, {east: [res(1, "us-east-1", "ec2")]}, failed=frozenset({east}))
    scan(service, "p2", T0 + timedelta(hours=1), {east: [res(2, "us-east-1", "ec2")]}, failed=frozenset({east}))
    assert ids(store) == {"us-east-1": {"ec2": ["ec2-us-east-1-2"]}}
    scan(service, "p3", T0 + timedelta(hours=2), {east: []}, failed=frozenset({east}))
    assert ids(store) == {"us-east-1": {"ec2": ["ec2-us-east-1-2"]}}
    assert scope_of(store, *east)["executionId"] == "p2"
    assert [n["executionId"] for n in scope_of(store, *east)["notReplacedBy"]] == ["p3"]
