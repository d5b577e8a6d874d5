"""A scope's pages publish behind its listing: page N goes out while page N + 1 is listed, in order of completion."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from inventory_core.items import Account
from inventory_core.publisher import PublishError
from inventory_events import AnyEvent, ResourcesDiscovered, ScanRequested, ScopeCompleted
from scanner.catalog import CATALOG
from scanner.service import ScanOptions, ScanService

from tests.builders import T0
from tests.fakes import (
    InMemoryAccountDirectory,
    InMemoryAccountSession,
    InMemoryEventPublisher,
    InMemorySessionProvider,
)
from tests.unit.scanner.test_scan_service import A, B, instance, service


class SlowPublisher(InMemoryEventPublisher):
    """Records which thread published each event; a page takes 50 ms; ``fail_page`` raises for that ec2 page."""

    def __init__(self, fail_page: int | None = None) -> None:
        super().__init__()
        self.threads: dict[int, str] = {}
        self.fail_page = fail_page
        self.lock = threading.Lock()

    def publish(self, events: Sequence[AnyEvent]) -> None:
        for event in events:
            if event.event_type == "ResourcesDiscovered" and event.scope.resource_type == "ec2":
                time.sleep(0.05)
                if event.page == self.fail_page:
                    raise RuntimeError("PublishError: SNS said no")
        with self.lock:
            for event in events:
                self.threads[len(self.published)] = threading.current_thread().name
                self.published.append(event)


def ec2_session() -> InMemoryAccountSession:
    return InMemoryAccountSession({("ec2", "us-east-1"): [instance(i) for i in range(7)]})


def test_pages_publish_on_the_publish_pool_and_the_scope_completes_after_them() -> None:
    publisher = SlowPublisher()
    service(publisher, {A: ec2_session()}).scan(ScanRequested(execution_id="x", account_ids=[A]))
    order = [
        (i, e)
        for i, e in enumerate(publisher.published)
        if isinstance(e, ResourcesDiscovered | ScopeCompleted)
        and (e.scope.region, e.scope.resource_type) == ("us-east-1", "ec2")
    ]
    pages = [(i, e) for i, e in order if isinstance(e, ResourcesDiscovered)]
    done = [(i, e) for i, e in order if isinstance(e, ScopeCompleted)]
    assert sorted(e.page for _, e in pages) == [1, 2, 3, 4]
    assert all(publisher.threads[i].startswith("publish") for i, _ in pages)
    assert len(done) == 1
    assert done[0][0] > max(i for i, _ in pages)  # the completion never overtakes its pages
    assert done[0][1].status == "complete"
    assert done[0][1].resource_count == 7


def test_a_page_that_cannot_be_published_fails_its_scope() -> None:
    publisher = SlowPublisher(fail_page=2)
    service(publisher, {A: ec2_session()}).scan(ScanRequested(execution_id="x", account_ids=[A]))
    done = [
        s
        for s in publisher.of_type("ScopeCompleted")
        if (s.scope.region, s.scope.resource_type) == ("us-east-1", "ec2")
    ]
    assert len(done) == 1
    assert done[0].status == "failed"
    assert "SNS said no" in (done[0].error or "")
    assert publisher.of_type("AccountScanCompleted")[0].status == "partial"


class CountingPublisher(SlowPublisher):
    """Also records the most ec2 pages being published on the publish pool at the same moment."""

    def __init__(self) -> None:
        super().__init__()
        self.in_pool = 0
        self.most_in_pool = 0

    def publish(self, events: Sequence[AnyEvent]) -> None:
        pooled = threading.current_thread().name.startswith("publish")
        with self.lock:
            self.in_pool += pooled
            self.most_in_pool = max(self.most_in_pool, self.in_pool)
        try:
            super().publish(events)
        finally:
            with self.lock:
                self.in_pool -= pooled


def bounded_service(publisher: InMemoryEventPublisher, publish_ahead: int) -> ScanService:
    """Two regions of 7 instances each (4 pages of 2 per scope), 4 scopes at once, ``publish_ahead`` pool places."""
    session = InMemoryAccountSession(
        {("ec2", region): [instance(i) for i in range(7)] for region in ("us-east-1", "eu-west-1")}
    )
    return ScanService(
        InMemoryAccountDirectory([Account(A, "prod", True)]),
        InMemorySessionProvider({A: session}),
        publisher,
        ScanOptions(
            regions=["us-east-1", "eu-west-1"],
            specs=CATALOG,
            max_workers=4,
            page_max_items=2,
            publish_ahead=publish_ahead,
        ),
        clock=lambda: T0,
    )


def ec2_page_threads(publisher: SlowPublisher) -> list[str]:
    return [
        publisher.threads[i]
        for i, e in enumerate(publisher.published)
        if isinstance(e, ResourcesDiscovered) and e.scope.resource_type == "ec2"
    ]


def test_the_pages_in_flight_across_the_scan_are_bounded_and_the_rest_publish_inline() -> None:
    publisher = CountingPublisher()
    bounded_service(publisher, publish_ahead=1).scan(ScanRequested(execution_id="x", account_ids=[A]))
    threads = ec2_page_threads(publisher)
    assert len(threads) == 8  # nothing lost: 4 pages in each of the two regions
    assert publisher.most_in_pool == 1  # two scopes publish at once, yet only one page is ever in the pool
    assert any(t.startswith("scope") for t in threads)  # the page that found the pool full went out inline
    done = [s for s in publisher.of_type("ScopeCompleted") if s.scope.resource_type == "ec2"]
    assert sorted((s.scope.region, s.status, s.resource_count) for s in done) == [
        ("eu-west-1", "complete", 7),
        ("us-east-1", "complete", 7),
    ]


def test_publish_ahead_zero_publishes_every_page_on_its_scope_thread() -> None:
    publisher = CountingPublisher()
    bounded_service(publisher, publish_ahead=0).scan(ScanRequested(execution_id="x", account_ids=[A]))
    threads = ec2_page_threads(publisher)
    assert len(threads) == 8
    assert publisher.most_in_pool == 0
    assert all(t.startswith("scope") for t in threads)


class RefusingCompletions(InMemoryEventPublisher):
    """Publishes everything but the completions of ``refuse``: those raise PublishError (the publisher gave up)."""

    def __init__(self, refuse: str) -> None:
        super().__init__()
        self.refuse = refuse
        self.lock = threading.Lock()

    def publish(self, events: Sequence[AnyEvent]) -> None:
        for event in events:
            if event.event_type == self.refuse and (
                not isinstance(event, ScopeCompleted)
                or (event.scope.region, event.scope.resource_type) == ("us-east-1", "ec2")
            ):
                raise PublishError(f"{event.event_type} not published after retries")
        with self.lock:
            self.published.extend(events)


def test_a_scope_completion_that_cannot_be_published_fails_its_scope_and_the_scan_goes_on() -> None:
    # GIVEN a publisher that outlasted its retry budget for the ec2 us-east-1 scope's completion only
    publisher = RefusingCompletions("ScopeCompleted")
    # WHEN the account is scanned
    done = service(publisher, {A: ec2_session()}).scan(ScanRequested(execution_id="x", account_ids=[A]))
    # THEN the scan finishes; that scope counts as failed (no consumer got its completion, so none sweeps it)
    account = publisher.of_type("AccountScanCompleted")[0]
    assert ("us-east-1", "ec2") in {(s.region, s.resource_type) for s in account.failed_scopes}
    assert account.status == "partial"
    assert {a.status for a in done.accounts if a.account_id == A} == {"partial"}
    # and every other scope's completion went out
    completed = {(s.scope.region, s.scope.resource_type) for s in publisher.of_type("ScopeCompleted")}
    assert ("us-east-1", "ec2") not in completed
    assert len(completed) == len(account.scopes) - 1


def test_an_account_completion_that_cannot_be_published_fails_the_account_not_the_scan() -> None:
    # A is scanned; B cannot be assumed (the failed account's own completion is refused too)
    publisher = RefusingCompletions("AccountScanCompleted")
    done = service(publisher, {A: ec2_session()}).scan(ScanRequested(execution_id="x", account_ids=[A, B]))
    assert sorted((a.account_id, a.status, a.resource_count) for a in done.accounts) == [
        (A, "failed", 7),
        (B, "failed", 0),
    ]
    assert len(publisher.of_type("ScanCompleted")) == 1
