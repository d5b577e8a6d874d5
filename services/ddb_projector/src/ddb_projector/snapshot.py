"""Publishes the grid snapshot that a cold API instance starts from (inventory_core.grid; README "Query service API").

Why here: the projector is the one writer of the resource items and of their change journal, so it knows
when the grid changed; it publishes when a scan is reported complete and then at most every ``interval``
while pages keep landing, so a cold API never has more than about one interval of journal to apply. A
publication is incremental (the previous snapshot plus the journal since its watermark: cost grows with the
snapshot, not with DynamoDB reads) and a full read of the table at least every ``full_every`` (this catches
what the journal cannot say: items removed by TTL, a journal write lost to a crash). One publisher at a
time: a lease on the publisher's state item.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

logger = logging.getLogger(__name__)

#: A full publication re-applies this many journal entries before the journal's head (in-flight writers).
FULL_READ_OVERLAP = 1000


@dataclass(frozen=True)
class PublisherState:
    """What the last publication recorded: when, the last full read, the journal head and the watermark."""

    published_at: datetime | None = None
    full_at: datetime | None = None
    head: int = 0
    watermark: int = 0


class GridSource(Protocol):
    """The single table as the publisher reads it; the state item carries a lease (one publisher at a time)."""

    def state(self) -> PublisherState:
        """The last publication (an empty state if there was none)."""

    def take_lease(self, holder: str, now: datetime, until: datetime) -> bool:
        """Take the publisher lease unless another holder's lease runs past ``now``; False if taken."""

    def finish(self, holder: str, state: PublisherState) -> None:
        """Record a publication and release the lease (only if ``holder`` still holds it)."""

    def release(self, holder: str) -> None:
        """Release the lease without recording anything."""

    def journal_head(self) -> int:
        """The highest journal entry number reserved so far."""

    def journal_entries(self, seqs: Iterable[int]) -> dict[int, list[dict[str, str]]]:
        """The rows of those entries that exist (a reserved number not written yet is absent)."""

    def all_rows(self) -> list[dict[str, str]]:
        """The grid row of every resource item of the registered accounts."""


class SnapshotStore(Protocol):
    """Where the snapshot lives (S3, SSE); a publication replaces it whole."""

    def watermark(self) -> int | None:
        """The published snapshot's watermark (every journal entry up to it is in it); None if there is none."""

    def publish(self, base: list[dict[str, str]] | None, changes: list[dict[str, str]], watermark: int) -> int:
        """Replace the snapshot by ``base`` (None: the published snapshot's rows) with ``changes`` put in.

        A change replaces the row of its ARN; of several changes of one ARN the last wins. Returns the rows.
        """


class SnapshotPublisher:
    """Decides when to publish, and merges the previous snapshot (or a full read) with the journal."""

    def __init__(
        self,
        source: GridSource,
        store: SnapshotStore,
        *,
        interval: timedelta = timedelta(seconds=60),
        full_every: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._store = store
        self._interval = interval
        self._full_every = full_every
        self._lease = lease
        self._clock = clock
        self._next_check: datetime | None = None

    def publish_if_due(self, *, force: bool = False) -> bool:
        """Publish if forced (a scan was reported complete) or the last publication is older than the interval.

        Between checks of the state item this costs nothing: a process looks again only after the interval.
        Returns whether this call published.
        """
        now = self._clock()
        if not force and self._next_check is not None and now < self._next_check:
            return False
        self._next_check = now + self._interval
        state = self._source.state()
        if not force and state.published_at is not None and now - state.published_at < self._interval:
            return False
        holder = uuid.uuid4().hex
        if not self._source.take_lease(holder, now, now + self._lease):
            return False  # another process is publishing right now
        try:
            published = self._publish(state, now)
        except Exception:
            self._source.release(holder)
            raise
        self._source.finish(holder, published)
        return True

    def _publish(self, state: PublisherState, now: datetime) -> PublisherState:
        full = state.full_at is None or now - state.full_at >= self._full_every
        previous = None if full else self._store.watermark()
        head = self._source.journal_head()
        base: list[dict[str, str]] | None = None
        if previous is None:
            full = True
            since = state.watermark if state.published_at else max(0, head - FULL_READ_OVERLAP)
            base = self._source.all_rows()
        else:
            since = previous
        wanted = range(since + 1, head + 1)
        entries = self._source.journal_entries(wanted)
        changes = [row for seq in sorted(entries) for row in entries[seq]]
        # a number reserved before the last publication and still not written was abandoned (a crashed
        # writer); a younger one may still land: the watermark stops below it, so readers ask for it
        in_flight = [seq for seq in wanted if seq not in entries and seq > state.head]
        watermark = min(in_flight) - 1 if in_flight else head
        rows = self._store.publish(base, changes, watermark)
        logger.info(
            "grid snapshot published",
            extra={
                "rows": rows,
                "full": full,
                "journal_entries": len(entries),
                "watermark": watermark,
                "duration_ms": round((self._clock() - now).total_seconds() * 1000),
            },
        )
        return PublisherState(published_at=now, full_at=now if full else state.full_at, head=head, watermark=watermark)
