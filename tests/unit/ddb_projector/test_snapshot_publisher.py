"""The grid snapshot publisher: when it publishes, what it merges, one publisher at a time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from ddb_projector.service import ProjectorService
from ddb_projector.snapshot import PublisherState, SnapshotPublisher
from inventory_core.grid import grid_row

from tests.builders import T0, resource, scan_events
from tests.fakes import InMemoryProcessedEvents, InMemoryProjectorMetrics, InMemoryResourceStore
from tests.fakes.api import resource_item

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@dataclass
class InMemoryGridSource:
    rows: list[dict[str, str]] = field(default_factory=list)
    entries: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    head: int = 0
    recorded: PublisherState = field(default_factory=PublisherState)
    lease: tuple[str, datetime] | None = None
    state_reads: int = 0
    full_reads: int = 0

    def write(self, *rows: dict[str, str]) -> None:
        self.head += 1
        self.entries[self.head] = list(rows)

    def state(self) -> PublisherState:
        self.state_reads += 1
        return self.recorded

    def take_lease(self, holder: str, now: datetime, until: datetime) -> bool:
        if self.lease and self.lease[1] >= now:
            return False
        self.lease = (holder, until)
        return True

    def finish(self, holder: str, state: PublisherState) -> None:
        if self.lease and self.lease[0] == holder:
            self.recorded, self.lease = state, None

    def release(self, holder: str) -> None:
        if self.lease and self.lease[0] == holder:
            self.lease = None

    def journal_head(self) -> int:
        return self.head

    def journal_entries(self, seqs: Iterable[int]) -> dict[int, list[dict[str, str]]]:
        return {seq: self.entries[seq] for seq in seqs if seq in self.entries}

    def all_rows(self) -> list[dict[str, str]]:
        self.full_reads += 1
        return list(self.rows)


@dataclass
class InMemorySnapshotStore:
    rows: list[dict[str, str]] | None = None
    published_watermark: int | None = None
    writes: int = 0
    fail: bool = False

    def watermark(self) -> int | None:
        return self.published_watermark

    def publish(self, base: list[dict[str, str]] | None, changes: list[dict[str, str]], watermark: int) -> int:
        if self.fail:
            raise RuntimeError("bucket unavailable")
        by_arn = {r["resourceArn"]: r for r in (base if base is not None else self.rows or [])}
        by_arn |= {r["resourceArn"]: r for r in changes}
        self.rows, self.published_watermark = list(by_arn.values()), watermark
        self.writes += 1
        return len(self.rows)


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
    assert store.rows is not None
    return {r["resourceArn"]: r["discoveryStatus"] for r in store.rows}


def test_the_first_publication_reads_the_table_then_later_ones_add_the_journal_to_the_previous_snapshot() -> None:
    source, store, clock, publisher = setup()
    source.write(grid_row(resource_item(1)))
    assert publisher.publish_if_due()
    assert (source.full_reads, len(arns(store))) == (1, 5)
    assert store.published_watermark == 1

    # WHEN a resource goes missing and one appears, and the interval passes
    changed = {**grid_row(resource_item(2)), "discoveryStatus": "missing"}
    source.write(changed)
    source.write(grid_row(resource_item(9)))
    source.rows = []  # a full read now would lose everything: proves the merge is incremental
    clock.now += timedelta(seconds=61)

    # THEN the previous snapshot plus the journal is published, without a table read
    assert publisher.publish_if_due()
    assert source.full_reads == 1
    assert arns(store)[changed["resourceArn"]] == "missing"
    assert len(arns(store)) == 6
    assert store.published_watermark == 3


def test_the_watermark_stops_below_a_number_still_in_flight_and_passes_one_abandoned_for_an_interval() -> None:
    source, store, clock, publisher = setup()
    publisher.publish_if_due()
    source.head += 1  # reserved, not written yet
    source.write(grid_row(resource_item(8)))
    clock.now += timedelta(seconds=61)
    publisher.publish_if_due()
    assert store.published_watermark == 0  # readers will ask for entry 1
    assert len(arns(store)) == 6  # entry 2 is in already (readers re-apply it: same rows)
    clock.now += timedelta(seconds=61)
    publisher.publish_if_due()
    assert store.published_watermark == 2  # entry 1 was reserved before the last publication: abandoned


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
    source.recorded = PublisherState(published_at=NOW - timedelta(seconds=10), full_at=NOW - timedelta(seconds=10))
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
