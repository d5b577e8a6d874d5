"""A listing page is held once and freed item by item as the scan publishes it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import boto3
from inventory_core.items import Account
from inventory_events import AnyEvent, ResourcesDiscovered, ScanRequested
from scanner.adapters.aws_session import _result_detachable, _rows
from scanner.catalog import ResourceSpec, spec_by_slug
from scanner.service import ScanOptions, ScanService

from tests.fakes import InMemoryAccountDirectory, InMemoryAccountSession, InMemorySessionProvider
from tests.unit.scanner.test_scan_service import A, instance


class _Item(dict[str, Any]):
    """A raw item that can be watched with a weak reference."""


class WatchedSession(InMemoryAccountSession):
    """One page of 10 EC2 items in us-east-1, each watched with a weak reference."""

    def __init__(self) -> None:
        super().__init__({})
        self.page: list[dict[str, Any]] = [_Item(instance(i)) for i in range(10)]
        self.refs = [weakref.ref(item) for item in self.page]
        self.given: list[list[dict[str, Any]]] = []

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        if (spec.slug, region) == ("ec2", "us-east-1"):
            page, self.page = self.page, []
            self.given.append(page)
            yield page


class AliveAtPublish:
    """Drops what it is given; at each ec2 page counts the watched items still alive."""

    def __init__(self, session: WatchedSession) -> None:
        self.session = session
        self.alive: list[int] = []

    def publish(self, events: Sequence[AnyEvent]) -> None:
        if any(isinstance(e, ResourcesDiscovered) and e.scope.resource_type == "ec2" for e in events):
            gc.collect()
            self.alive.append(sum(ref() is not None for ref in self.session.refs))


def test_an_item_is_freed_once_published_not_when_its_whole_page_is() -> None:
    # GIVEN a listing page of 10 items, published one resource a page, inline
    session = WatchedSession()
    publisher = AliveAtPublish(session)
    ScanService(
        InMemoryAccountDirectory([Account(A, "prod", True)]),
        InMemorySessionProvider({A: session}),
        publisher,
        ScanOptions(regions=["us-east-1"], specs=[spec_by_slug("ec2")], page_max_items=1, publish_ahead=0),
    ).scan(ScanRequested(execution_id="x", account_ids=[A]))
    # THEN at the k-th publication the items published before it are gone: only those not yet listed out of the
    # page and the one in hand are alive (a scan that iterated the page held all 10 at every publication)
    assert len(publisher.alive) == 10
    assert all(alive <= 10 - k for k, alive in enumerate(publisher.alive)), publisher.alive
    assert [len(page) for page in session.given] == [0]
    gc.collect()
    assert all(ref() is None for ref in session.refs)


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
