from __future__ import annotations

import random
from datetime import timedelta

import pytest
from ddb_projector.service import (
    InvalidPageError,
    ProjectorOptions,
    ProjectorService,
    UnexpectedEventError,
    count_change_pct,
)
from inventory_core.timefmt import iso
from inventory_events import AnyEvent, ScanRequested

from tests.builders import (
    T0,
    account_completed,
    expected_inventory,
    later,
    page,
    resource,
    scan_events,
    scope,
    scope_completed,
)
from tests.fakes import (
    InMemoryProcessedEvents,
    InMemoryProjectorMetrics,
    InMemoryResourceStore,
    LastPageLandsDuring,
)

ACCOUNT = "111111111111"
KEYS = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"}


class Projector:
    def __init__(self) -> None:
        self.store = InMemoryResourceStore()
        self.store.register_account(ACCOUNT)
        self.processed = InMemoryProcessedEvents(now=lambda: later(120))
        self.metrics = InMemoryProjectorMetrics()
        self.service = ProjectorService(
            self.store,
            processed=self.processed,
            metrics=self.metrics,
            options=ProjectorOptions(),
            clock=lambda: later(120),
        )

    def handle(self, *events: AnyEvent) -> None:
        for e in events:
            self.service.handle(e)

    def state(self) -> dict[str, dict[str, object]]:
        """Resource items without the table's keys and index attributes (what the truth speaks of)."""
        return {arn: {k: v for k, v in item.items() if k not in KEYS} for arn, item in self.store.items.items()}


def test_scope_completed_before_its_pages_is_parked_and_the_last_page_sweeps_at_once() -> None:
    # GIVEN resource 2 seen by an older scan, and the new scan's completion arriving before its two pages
    p = Projector()
    p.handle(page([resource(1), resource(2)], execution_id="old", started=T0))
    done = scope_completed(scope(), execution_id="new", pages=2, started=later(59))
    p.handle(done)  # no error: the message is done, nothing waits for a retry delay
    assert done.event_id in p.processed.markers
    assert p.store.parked[("new", scope().key)] == done
    # WHEN the first page lands nothing is swept yet; the second (last) page sweeps
    p.handle(page([resource(1, at=later(60))], execution_id="new", started=later(59)))
    assert p.store.items[resource(2).resource_arn]["discoveryStatus"] == "active"
    p.handle(page([resource(3, at=later(60))], execution_id="new", page_no=2, started=later(59)))
    gone = p.store.items[resource(2).resource_arn]
    assert (gone["discoveryStatus"], gone["missingSince"]) == ("missing", iso(later(59)))
    assert p.store.scan_accounts[("new", ACCOUNT)]["scopesDone"] == 1


@pytest.mark.parametrize("when", ["before check", "between check and park", "after park"])
def test_a_completion_racing_its_last_page_is_swept_whichever_comes_first(when: str) -> None:
    # GIVEN resource 2 seen by an older scan; the new scan's page 1 applied, its last page applied by another
    # writer (another service on the same store) at a point of the completion's handling
    first, last = (
        page([resource(n, at=later(60))], execution_id="new", page_no=no, started=later(59))
        for n, no in ((1, 1), (3, 2))
    )
    store = InMemoryResourceStore()
    store.register_account(ACCOUNT)
    racing = LastPageLandsDuring(store, when, last)
    mine = ProjectorService(racing, processed=InMemoryProcessedEvents(), metrics=InMemoryProjectorMetrics())
    racing.writer = ProjectorService(
        store, processed=InMemoryProcessedEvents(), metrics=InMemoryProjectorMetrics()
    ).handle
    mine.handle(page([resource(1), resource(2)], execution_id="old", started=T0))
    mine.handle(first)
    # WHEN the completion is handled while the last page lands
    mine.handle(scope_completed(scope(), execution_id="new", pages=2, started=later(59)))
    # THEN the scope was swept (by one of the two writers) and counted once
    gone = store.items[resource(2).resource_arn]
    assert (gone["discoveryStatus"], gone["missingSince"]) == ("missing", iso(later(59)))
    assert store.items[resource(3).resource_arn]["discoveryStatus"] == "active"
    assert store.scan_accounts[("new", ACCOUNT)]["scopesDone"] == 1


def test_complete_scope_marks_unseen_resources_missing_since_the_scan_start() -> None:
    p = Projector()
    p.handle(page([resource(1), resource(2)], execution_id="old", started=T0))
    p.handle(page([resource(1, at=later(60))], execution_id="new", started=later(59)))
    p.handle(scope_completed(scope(), execution_id="new", pages=1, started=later(59)))
    gone = p.store.items[resource(2).resource_arn]
    assert (gone["discoveryStatus"], gone["missingSince"]) == ("missing", iso(later(59)))
    assert gone["ttl"] == int((later(59) + timedelta(days=30)).timestamp())
    assert p.store.items[resource(1).resource_arn]["discoveryStatus"] == "active"


def test_failed_scope_marks_nothing_and_counts_as_failed() -> None:
    p = Projector()
    p.handle(page([resource(1)], started=T0))
    p.handle(scope_completed(scope(), execution_id="new", pages=0, started=later(59), status="failed"))
    assert p.store.items[resource(1).resource_arn]["discoveryStatus"] == "active"
    assert p.store.scan_accounts[("new", ACCOUNT)]["scopesFailed"] == 1


def test_a_redelivered_event_is_skipped_while_its_marker_lives() -> None:
    p = Projector()
    first = page([resource(1)])
    p.handle(first)
    assert p.processed.markers[first.event_id] == later(120) + timedelta(days=15)
    p.store.items.clear()  # would be rewritten if the duplicate did any work
    p.handle(first)
    assert p.store.items == {}


def test_an_expired_marker_lets_the_event_apply_again_to_the_same_result() -> None:
    p = Projector()
    first = page([resource(1)])
    p.handle(first)
    before = p.state()
    p.processed.now = lambda: later(120) + timedelta(days=16)
    p.handle(first)
    assert p.state() == before


def test_an_older_page_never_overwrites_and_lowers_first_discovered() -> None:
    p = Projector()
    p.handle(page([resource(1, at=later(60), state="stopped")], execution_id="new", started=later(59)))
    p.handle(page([resource(1, at=T0, state="running")], execution_id="old"))
    item = p.store.items[resource(1).resource_arn]
    assert (item["state"], item["lastDiscoveredAt"], item["lastExecutionId"]) == ("stopped", iso(later(60)), "new")
    assert item["firstDiscoveredAt"] == iso(T0)


def test_a_missing_resource_is_revived_only_by_an_observation_after_the_scan_that_missed_it() -> None:
    p = Projector()
    p.handle(page([resource(1, at=T0)], execution_id="s1"))
    p.handle(scope_completed(scope(), execution_id="s3", pages=0, started=later(90)))
    p.handle(page([resource(1, at=later(30))], execution_id="s2", started=later(29)))  # late, older than s3
    assert p.store.items[resource(1).resource_arn]["discoveryStatus"] == "missing"
    p.handle(page([resource(1, at=later(95))], execution_id="s4", started=later(94)))
    revived = p.store.items[resource(1).resource_arn]
    assert revived["discoveryStatus"] == "active"
    assert "missingSince" not in revived
    assert "ttl" not in revived


def test_missing_since_is_the_earliest_scan_that_missed_it_whatever_the_sweep_order() -> None:
    p = Projector()
    p.handle(page([resource(1, at=T0)], execution_id="s1"))
    p.handle(scope_completed(scope(), execution_id="s3", pages=0, started=later(90)))
    p.handle(scope_completed(scope(), execution_id="s2", pages=0, started=later(60)))
    assert p.store.items[resource(1).resource_arn]["missingSince"] == iso(later(60))


def test_a_page_with_a_resource_outside_its_scope_is_rejected_and_writes_nothing() -> None:
    p = Projector()
    bad = page([resource(1)]).model_copy(update={"scope": scope(region="eu-west-1")})
    with pytest.raises(InvalidPageError, match="not in 111111111111#eu-west-1#ec2"):
        p.handle(bad)
    assert p.store.items == {}


def test_scan_requested_is_not_for_the_projector() -> None:
    p = Projector()
    with pytest.raises(UnexpectedEventError):
        p.handle(ScanRequested(execution_id="x"))


@pytest.mark.parametrize(("previous", "current", "fires"), [(100, 125, True), (100, 110, False), (100, 75, True)])
def test_count_delta_metric_fires_beyond_twenty_percent(previous: int, current: int, fires: bool) -> None:
    p = Projector()
    p.handle(account_completed(ACCOUNT, execution_id="s1", count=previous, started=T0))
    p.handle(account_completed(ACCOUNT, execution_id="s2", count=current, started=later(60)))
    expected = [(ACCOUNT, previous, current, count_change_pct(previous, current))] if fires else []
    assert p.metrics.count_deltas == expected


def test_count_delta_compares_successful_scans_only_and_fires_once_per_scan() -> None:
    p = Projector()
    p.handle(account_completed(ACCOUNT, execution_id="s1", count=100, started=T0))
    p.handle(account_completed(ACCOUNT, execution_id="s2", count=10, status="partial", started=later(60)))
    assert p.metrics.count_deltas == []
    s3 = account_completed(ACCOUNT, execution_id="s3", count=150, started=later(120))
    p.handle(s3)
    p.processed.markers.clear()  # a duplicate after its marker is gone
    p.handle(s3)
    assert p.metrics.count_deltas == [(ACCOUNT, 100, 150, 50.0)]
    assert p.store.accounts[ACCOUNT]["lastSyncExecutionId"] == "s3"


def test_a_late_older_account_scan_does_not_regress_the_account_status() -> None:
    p = Projector()
    p.handle(account_completed(ACCOUNT, execution_id="s2", count=7, started=later(60)))
    p.handle(account_completed(ACCOUNT, execution_id="s1", count=3, status="failed", started=T0))
    account = p.store.accounts[ACCOUNT]
    assert (account["lastSyncExecutionId"], account["lastSyncStatus"], account["lastSyncResourceCount"]) == (
        "s2",
        "success",
        7,
    )


@pytest.mark.parametrize("seed", range(40))
def test_any_order_and_repetition_of_three_scans_gives_the_truth(seed: int) -> None:
    # GIVEN three scans: 3 disappears in the second and comes back in the third, 4 appears, 2 goes
    rng = random.Random(seed)
    s1 = scan_events("s1", T0, [resource(n, at=later(1)) for n in (1, 2, 3)], scopes=[scope(region="us-west-2")])
    s2 = scan_events("s2", later(60), [resource(n, at=later(61), state="stopped") for n in (1, 2, 4)])
    s3 = scan_events("s3", later(120), [resource(n, at=later(121)) for n in (1, 3, 4)])
    events = s1 + s2 + s3
    deliveries = events + rng.sample(events, k=len(events) // 2)  # some delivered twice
    rng.shuffle(deliveries)
    # WHEN they are delivered in that order, each once (an early ScopeCompleted is parked, never retried)
    p = Projector()
    for event in deliveries:
        p.handle(event)
    # THEN the store holds the truth of the fleet
    assert p.state() == expected_inventory(events)
