"""The archiver parks an AccountScanCompleted that comes before its pages (on moto S3), in every interleaving.

The completion writes itself next to the staged pages, then lists them; a page stages, then reads the parked
completion. Whichever of a racing completion and last page writes second sees both, so the account is assembled
exactly when its last page is there, and no record fails (a failed record waits out the visibility timeout).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from archiver.adapters.s3_store import S3ObjectStore
from archiver.handler import handle_batch
from archiver.service import ArchiverService, parked_key, raw_key
from inventory_events import AccountScanCompleted, ResourcesDiscovered, ScopeSummary

from tests.builders import T0, page, resource, scope, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator

ACCOUNT = "111111111111"


def done(execution_id: str, pages: int = 2) -> AccountScanCompleted:
    return AccountScanCompleted(
        execution_id=execution_id,
        account_id=ACCOUNT,
        status="success",
        resource_count=2 * pages,
        duration_ms=10,
        scan_started_at=T0,
        scopes=[ScopeSummary(scope=scope(), status="complete", resource_count=2 * pages, page_count=pages)],
    )


def pages(execution_id: str, n: int = 2) -> list[ResourcesDiscovered]:
    return [
        page([resource(2 * i + 1), resource(2 * i + 2)], execution_id=execution_id, page_no=i + 1) for i in range(n)
    ]


class HookedStore(S3ObjectStore):
    """The S3 store with a hook run before a chosen call: lets a test put a rival's whole step in between."""

    def __init__(self, s3: Any, bucket: str) -> None:
        super().__init__(s3, bucket)
        self.before: dict[str, Callable[[], None]] = {}

    def _hook(self, name: str) -> None:
        hook = self.before.pop(name, None)
        if hook:
            hook()

    def keys_under(self, prefix: str) -> set[str]:
        self._hook("keys_under")
        return super().keys_under(prefix)

    def put_json(self, key: str, document: Any) -> None:
        if "/page-" in key:
            self._hook("put_page")
        super().put_json(key, document)

    def get_json(self, key: str) -> Any | None:
        if key.endswith("completion.json"):
            self._hook("get_parked")
        return super().get_json(key)


def archived_ids(stack: Stack, event: AccountScanCompleted) -> list[str]:
    s3 = stack.clients.client("s3")
    body = s3.get_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=raw_key(event))["Body"].read()
    return sorted(i["InstanceId"] for i in json.loads(body)["regions"]["us-east-1"]["ec2"])


def has_document(stack: Stack, event: AccountScanCompleted) -> bool:
    s3 = stack.clients.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.env["INVENTORY_BUCKET"], Prefix=raw_key(event))
    return bool(listing.get("Contents"))


def expected_ids(n_pages: int = 2) -> list[str]:
    return sorted(resource(i).resource_id for i in range(1, 2 * n_pages + 1))


def service_of(stack: Stack) -> tuple[ArchiverService, HookedStore]:
    store = HookedStore(stack.clients.client("s3"), stack.env["INVENTORY_BUCKET"])
    return ArchiverService(store), store


def test_an_early_completion_is_parked_without_failing_and_the_last_page_assembles(stack: Stack) -> None:
    service, _ = service_of(stack)
    first, last = pages("exec-early")
    completion = done("exec-early")
    batch = sqs_event(first, completion, queue="archiver")
    assert handle_batch(batch, None, service) == {"batchItemFailures": []}
    assert not has_document(stack, completion)  # parked: page 2 is not staged
    s3 = stack.clients.client("s3")
    parked = s3.get_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=parked_key("exec-early", ACCOUNT))
    assert parked["ServerSideEncryption"] == "AES256"
    assert handle_batch(sqs_event(last, queue="archiver"), None, service) == {"batchItemFailures": []}
    assert archived_ids(stack, completion) == expected_ids()
    # a redelivered page or completion changes nothing
    before = s3.head_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=raw_key(completion))["ETag"]
    assert handle_batch(sqs_event(last, completion, queue="archiver"), None, service) == {"batchItemFailures": []}
    assert s3.head_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=raw_key(completion))["ETag"] == before


def test_a_completion_after_its_pages_assembles_at_once_and_parks_nothing(stack: Stack) -> None:
    service, store = service_of(stack)
    for p in pages("exec-late"):
        service.handle(p)
    service.handle(done("exec-late"))
    assert archived_ids(stack, done("exec-late")) == expected_ids()
    assert store.get_json(parked_key("exec-late", ACCOUNT)) is None


def test_both_assemble_when_the_last_page_lands_between_the_park_and_its_check(stack: Stack) -> None:
    """Completion parks; the last page stages, finds the park and assembles; the completion's check sees the page
    and assembles as well: one document, holding the scan once."""
    service, store = service_of(stack)
    first, last = pages("exec-a")
    service.handle(first)
    # the first listing (before the park) misses page 2; the page runs whole before the second one
    store.before["keys_under"] = lambda: store.before.update(keys_under=lambda: service.handle(last))
    service.handle(done("exec-a"))
    assert archived_ids(stack, done("exec-a")) == expected_ids()
    doc = json.loads(
        stack.clients.client("s3")
        .get_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=raw_key(done("exec-a")))["Body"]
        .read()
    )
    assert [e["executionId"] for e in doc["executions"]] == ["exec-a"]


@pytest.mark.parametrize(
    ("hook", "parked"),
    [
        # the completion runs before page 2 is staged: it parks; page 2 stages, reads the park and assembles
        ("put_page", True),
        # page 2 stages and finds no park; the completion then lists every page and assembles at once
        ("get_parked", False),
    ],
)
def test_the_last_page_or_the_completion_assembles_whichever_sees_both(stack: Stack, hook: str, parked: bool) -> None:
    service, store = service_of(stack)
    execution = f"exec-{hook}"
    first, last = pages(execution)
    service.handle(first)
    store.before[hook] = lambda: service.handle(done(execution))
    service.handle(last)
    assert (store.get_json(parked_key(execution, ACCOUNT)) is not None) is parked
    assert archived_ids(stack, done(execution)) == expected_ids()


def test_racing_completion_and_last_page_in_two_threads_always_assemble(stack: Stack) -> None:
    rounds = 8
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(action: Callable[[], None]) -> None:
        try:
            barrier.wait()
            action()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    for n in range(rounds):
        execution = f"exec-race-{n}"
        first, last = pages(execution)
        page_side, _ = service_of(stack)
        completion_side, _ = service_of(stack)
        page_side.handle(first)
        threads = [
            threading.Thread(target=run, args=(lambda: page_side.handle(last),)),  # noqa: B023 - joined below
            threading.Thread(target=run, args=(lambda: completion_side.handle(done(execution)),)),  # noqa: B023
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert archived_ids(stack, done(execution)) == expected_ids(), execution
