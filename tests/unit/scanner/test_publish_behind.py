"""A scope's pages publish behind its listing: page N goes out while page N + 1 is listed, in order of completion."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from inventory_events import AnyEvent, ResourcesDiscovered, ScanRequested, ScopeCompleted

from tests.fakes import InMemoryAccountSession, InMemoryEventPublisher
from tests.unit.scanner.test_scan_service import A, instance, service


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
