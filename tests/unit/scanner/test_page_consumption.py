"""A listing page is held once and freed item by item as the scan publishes it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
from inventory_events import ScanRequested
from scanner.adapters.aws_session import _result_detachable, _rows
from scanner.catalog import ResourceSpec, spec_by_slug

from tests.fakes import InMemoryAccountSession, InMemoryEventPublisher
from tests.unit.scanner.test_scan_service import A, instance, service


class _Item(dict[str, Any]):
    """A raw item that can be watched with a weak reference."""


class WatchedSession(InMemoryAccountSession):
    """One page of 6 EC2 items; records, when each item is normalized, which earlier items are still alive."""

    def __init__(self) -> None:
        super().__init__({})
        self.page: list[dict[str, Any]] = [_Item(instance(i)) for i in range(6)]
        self.refs = [weakref.ref(item) for item in self.page]
        self.given: list[list[dict[str, Any]]] = []

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        if (spec.slug, region) == ("ec2", "us-east-1"):
            page, self.page = self.page, []
            self.given.append(page)
            yield page


def test_the_scan_empties_each_page_and_frees_items_once_published() -> None:
    session = WatchedSession()
    publisher = InMemoryEventPublisher()
    service(publisher, {A: session}).scan(ScanRequested(execution_id="x", account_ids=[A]))
    assert [len(page) for page in session.given] == [0]  # every item taken out of the page it came in
    found = sorted(r.resource_id for e in publisher.of_type("ResourcesDiscovered") for r in e.resources)
    assert found == sorted(str(instance(i)["InstanceId"]) for i in range(6))
    publisher.published.clear()
    gc.collect()
    assert all(ref() is None for ref in session.refs)  # nothing of the page outlives its publication


def test_the_answer_keeps_no_copy_of_its_items_once_rows_are_made() -> None:
    spec = spec_by_slug("ec2")
    answer: dict[str, Any] = {
        "Reservations": [{"Instances": [instance(1), instance(2)]}, {"Instances": [instance(3)]}],
        "NextToken": "t",
    }
    rows = _rows(spec, answer, detach=True)
    assert [r["InstanceId"] for r in rows] == [instance(i)["InstanceId"] for i in (1, 2, 3)]
    assert answer == {"NextToken": "t"}  # the token the paginators read next is still there
    kept: dict[str, Any] = {"Reservations": [{"Instances": [instance(1)]}]}
    assert len(_rows(spec, kept, detach=False)) == 1 and kept["Reservations"]


def test_items_stay_in_the_answer_when_a_token_is_computed_from_them() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    ec2, s3 = session.client("ec2"), session.client("s3")  # no call is made: only their paginator models are read
    assert _result_detachable(ec2, spec_by_slug("ec2"))
    # S3 ListObjects' next marker falls back to Contents[-1].Key: taking Contents out would end the listing early
    objects = replace(spec_by_slug("s3"), function="list_objects", result_key="Contents", flatten=None)
    assert not _result_detachable(s3, objects)
