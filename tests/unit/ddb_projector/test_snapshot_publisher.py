"""The grid snapshot publisher: when it publishes, what it merges, one publisher at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from ddb_projector.service import ProjectorService
from ddb_projector.snapshot import PublishedSnapshot, PublisherState, SnapshotPublisher
from inventory_core.grid import LANDING_SLACK, grid_row

from tests.builders import T0, resource, scan_events
from tests.fakes import InMemoryProcessedEvents, InMemoryProjectorMetrics, InMemoryResourceStore
from tests.fakes.api import resource_item

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass
class InMemoryGridSource:
    rows: list[dict[str, str]] = field(default_factory=list)
    stamped: list[tuple[datetime, dict[str, str]]] = field(default_factory=list)
    published_at: datetime | None = None
    full_at: datetime | None = None
    lease: tuple[str, datetime] | None = None
    state_reads: int = 0
    full_reads: int = 0

    def state(self) -> PublisherState:
        self.state_reads += 1
        return PublisherState(self.published_at, self.full_at)

    def take_lease(self, holder: str, now: datetime, until: datetime) -> bool:
        if self.lease and self.lease[1] >= now:
            return False
        self.lease = (holder, until)
        return True

    def finish(self, holder: str, published_at: datetime, full_at: datetime | None) -> None:
        if self.lease and self.lease[0] == holder:
            self.published_at, self.full_at, self.lease = published_at, full_at, None

    def release(self, holder: str) -> None:
        if self.lease and self.lease[0] == holder:
            self.lease = None

    def journal(self, since: datetime, until: datetime) -> list[dict[str, str]]:
        return [row for at, row in sorted(self.stamped, key=lambda e: e[0]) if at >= since]

    def all_rows(self) -> list[dict[str, str]]:
        self.full_reads += 1
        return list(self.rows)


@dataclass
class InMemorySnapshotStore:
    current: PublishedSnapshot | None = None
    writes: int = 0
    fail: bool = False

    def read(self) -> PublishedSnapshot | None:
        return self.current

    def write(self, rows: list[dict[str, str]], watermark: datetime) -> None:
        if self.fail:
            raise RuntimeError("bucket unavailable")
        self.writes += 1
        self.current = PublishedSnapshot(list(rows), watermark)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def setup() -> tuple[InMemoryGridSource, InMemorySnapshotStore, Clock, SnapshotPublisher]:
    source = InMemoryGridSource(rows=[grid_row(resource_item(n)) for n in range(5)])
    store, clock = InMemorySnapshotStore(), Clock()
    publisher = SnapshotPublisher(
        source, store, interval=timedelta(seconds=60), full_every=timedelta(hours=24), clock=clock
    )
    return source, store, clock, publisher


def arns(store: InMemorySnapshotStore) -> dict[str, str]:
    assert store.current is not None
    return {r["resourceArn"]: r["discoveryStatus"] for r in store.current.rows}


def test_the_first_publication_reads_the_table_then_later_ones_add_the_journal_to_the_previous_snapshot() -> None:
    source, store, clock, publisher = setup()
    assert publisher.publish_if_due()
    assert (source.full_reads, len(arns(store))) == (1, 5)
    assert store.current is not None and store.current.watermark == NOW - LANDING_SLACK

    # WHEN a resource goes missing and one appears, and the interval passes
    changed = {**grid_row(resource_item(2)), "discoveryStatus": "missing"}
    source.stamped += [(NOW + timedelta(seconds=5), changed), (NOW + timedelta(seconds=6), grid_row(resource_item(9)))]
    source.rows = []  # a full read now would lose everything: proves the merge is incremental
    clock.now += timedelta(seconds=61)

    # THEN the previous snapshot plus the journal is published, without a table read
    assert publisher.publish_if_due()
    assert source.full_reads == 1
    assert arns(store)[changed["resourceArn"]] == "missing"
    assert len(arns(store)) == 6


def test_within_the_interval_nothing_is_published_and_the_state_is_not_even_read() -> None:
    source, store, clock, publisher = setup()
    publisher.publish_if_due()
    reads = source.state_reads
    clock.now += timedelta(seconds=30)
    assert not publisher.publish_if_due()
    assert (source.state_reads, store.writes) == (reads, 1)
    # a completed scan forces one
    assert publisher.publish_if_due(force=True)
    assert store.writes == 2


def test_another_process_publishing_within_the_interval_is_respected() -> None:
    source, store, _clock, publisher = setup()
    source.published_at = NOW - timedelta(seconds=10)
    source.full_at = NOW - timedelta(seconds=10)
    assert not publisher.publish_if_due()
    source.lease = ("other", NOW + timedelta(minutes=5))
    assert not publisher.publish_if_due(force=True)
    assert store.writes == 0


def test_a_full_read_is_made_again_once_a_day() -> None:
    source, store, clock, publisher = setup()
    publisher.publish_if_due()
    clock.now += timedelta(hours=25)
    source.rows = source.rows[:3]  # TTL removed two items: only a full read can know
    assert publisher.publish_if_due()
    assert source.full_reads == 2
    assert len(arns(store)) == 3


def test_a_failed_write_releases_the_lease_and_never_fails_the_projected_event() -> None:
    source, store, _clock, publisher = setup()
    store.fail = True
    with pytest.raises(RuntimeError):
        publisher.publish_if_due(force=True)
    assert source.lease is None

    # GIVEN the projector with that publisher: a completed scan is still applied and marked processed
    resources = InMemoryResourceStore()
    resources.register_account("111111111111")
    processed = InMemoryProcessedEvents(now=lambda: T0)
    service = ProjectorService(
        resources, processed=processed, metrics=InMemoryProjectorMetrics(), snapshots=publisher, clock=lambda: T0
    )
    events = scan_events("s1", T0, [resource(1)])
    for event in events:
        service.handle(event)
    assert all(processed.is_processed(e.event_id) for e in events)
