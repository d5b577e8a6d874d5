"""The grid's read model: the inventory in columns (Arrow), filtered, sorted and paged in memory.

Why: the grid needs exact totals, any sort order and substring search over every resource; DynamoDB serves
none of these without reading every item, and reading 100,000 items costs seconds (minutes on the emulator).

How a process gets the rows (README, "Query service API"):
1. a cold process reads the **snapshot** the projector publishes to S3 (every grid row as Arrow IPC,
   with a watermark) in one GET and parses it column-wise with Arrow; without one it reads the table;
2. it applies the projector's **change journal** (inventory_core.grid) since the watermark, and looks at the
   journal again at most every ``refresh_s`` on the request path (a few small queries), so a change the
   projector wrote shows within seconds, cold or warm, with no background thread (a Lambda is frozen
   between requests);
3. every ``ttl_s`` it asks S3 whether a newer snapshot exists (a conditional GET) and re-reads the accounts.

Filtering, sorting and search run in Arrow compute kernels; sorted orders and result lists are cached per
version of the rows, so paging through one result costs a slice.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, overload

import pyarrow as pa
import pyarrow.compute as pc
from inventory_core.grid import GRID_FIELDS, grid_row
from inventory_core.grid_arrow import apply_rows, decode_table, table_from_rows
from inventory_core.items import account_id_of_item

from inventory_api.ports import InventoryReader

logger = logging.getLogger(__name__)

FILTER_FIELDS = ("accountId", "resourceType", "region", "discoveryStatus")
_RESULT_CACHE_SIZE = 64
_EXPORT_BATCH = 2000
GAP_WAIT_S = 60.0  # a journal number reserved but not written is asked for again this long
_TABLE_READ_OVERLAP = 100  # journal entries re-applied after a table read (writers in flight during it)
_TOP_K_LIMIT = 10_000  # beyond this many rows in order, one full sort is cheaper


@dataclass(frozen=True)
class ResultKey:
    account_ids: tuple[str, ...]
    resource_types: tuple[str, ...]
    regions: tuple[str, ...]
    statuses: tuple[str, ...]
    search: str
    sort_by: str
    sort_order: str


@dataclass(frozen=True)
class StoredSnapshot:
    """The published snapshot as fetched: encoded rows, watermark (the last journal entry in it), and the ETag
    to ask "changed?" next time."""

    data: bytes
    watermark: int
    etag: str


class _Unchanged:
    pass


#: What ``SnapshotSource.latest`` returns when the snapshot is still the one named by ``known_etag``.
UNCHANGED: Final = _Unchanged()


class SnapshotSource(Protocol):
    """Where the projector publishes the grid snapshot (S3). Raises StoreError when it cannot be read."""

    def latest(self, known_etag: str | None) -> StoredSnapshot | _Unchanged | None:
        """The snapshot; UNCHANGED if it is still ``known_etag``; None if none was ever published."""


class ChangeJournal(Protocol):
    """The projector's change journal: numbered entries of grid rows. Raises StoreError when it cannot be read."""

    def head(self) -> int:
        """The highest entry number reserved so far (0 for an empty journal)."""

    def entries(self, seqs: Iterable[int]) -> dict[int, list[dict[str, str]]]:
        """The rows of those entries that exist; a number reserved but not yet written is absent."""


class AccountLookup(Protocol):
    """Account items by id, read by key (no index query: its cost must not grow with the inventory)."""

    def accounts_by_id(self, account_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The Account items (sk=METADATA) of those ids that are registered."""


def slim_row(item: dict[str, Any]) -> dict[str, Any]:
    """The grid's fields of a resource item, tags as a dict (what the routes return)."""
    return _public_row(grid_row(item))


def _public_row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "tags": json.loads(row["tags"]) if row.get("tags") else {}}


def table_from_snapshot(data: bytes) -> pa.Table:
    """The columns of a published snapshot (inventory_core.grid_arrow: Arrow IPC, mapped, not parsed)."""
    return decode_table(data)


class _Rows:
    """Row ``i`` of the table as a dict (tags parsed), built on access: only a page's rows are ever built."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._columns = [(name, table.column(name)) for name in GRID_FIELDS]
        self._prefetched: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return int(self._table.num_rows)

    def prefetch(self, indexes: list[int]) -> None:
        """Build the rows of one page at once (a column-wise take), for the ``[i]`` calls that follow."""
        if len(indexes) > 8:
            rows = self._table.take(pa.array(indexes, pa.int64())).to_pylist()
            self._prefetched = dict(zip(indexes, rows, strict=True))

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self._prefetched.get(index)
        if row is None:
            row = {name: column[index].as_py() for name, column in self._columns}
        return _public_row(row)


class _ArnIndex:
    """``get(arn)`` -> row index, by a vectorised search (no dict of every ARN kept in memory)."""

    def __init__(self, arns: pa.ChunkedArray) -> None:
        self._arns = arns

    def get(self, arn: str) -> int | None:
        found = pc.index(self._arns, pa.scalar(arn, pa.string())).as_py()
        return None if found is None or found < 0 else int(found)


class Snapshot:
    """One version of the grid's rows (registered accounts only), with per-version caches."""

    def __init__(self, table: pa.Table, accounts: list[dict[str, Any]], loaded_at: float) -> None:
        self.accounts = accounts
        self.loaded_at = loaded_at
        self.account_names = {account_id_of_item(a): str(a.get("accountName") or "") for a in accounts}
        registered = pc.is_in(table.column("accountId"), value_set=pa.array(sorted(self.account_names), pa.string()))
        if not pc.all(registered).as_py():
            table = table.filter(registered)
        self.table = table
        self.rows = _Rows(table)
        self.by_arn = _ArnIndex(table.column("resourceArn"))
        self.resource_types = sorted(v for v in pc.unique(table.column("resourceType")).to_pylist() if v is not None)
        self.regions = sorted(v for v in pc.unique(table.column("region")).to_pylist() if v is not None)
        self._keys: dict[str, pa.Table] = {}
        self._haystack: Any = None
        self._results: OrderedDict[ResultKey, Matched] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def _sort_keys(self, sort_by: str) -> pa.Table:
        """Case-insensitive ``sort_by``, then the ARN: a total order (ARNs are unique)."""
        keys = self._keys.get(sort_by)
        if keys is None:
            column = pc.utf8_lower(pc.fill_null(self.table.column(sort_by), ""))
            keys = self._keys[sort_by] = pa.table({"k": column, "a": self.table.column("resourceArn")})
        return keys

    def _search_hits(self, needle: str) -> Any:
        """Rows whose lowercased name, id or ARN contains ``needle``: ``bytes.find`` over the haystack column's
        one contiguous buffer (memchr speed), each hit mapped to its row by the offsets; a hit that runs into
        the next row's text is not a match."""
        if self._haystack is None:
            t = self.table
            joined = pc.binary_join_element_wise(
                t.column("name"), t.column("resourceId"), t.column("resourceArn"), "\x00"
            )
            hay = pc.utf8_lower(joined).combine_chunks()
            offsets = pa.Array.from_buffers(pa.int32(), len(hay) + 1, [None, hay.buffers()[1]], offset=hay.offset)
            data = hay.buffers()[2]
            self._haystack = (data.to_pybytes() if data is not None else b"", offsets.to_pylist())
        data, offsets = self._haystack
        target, rows = needle.encode(), len(offsets) - 1
        hits = bytearray(rows)
        end = offsets[-1] if offsets else 0
        position = data.find(target, offsets[0] if offsets else 0)
        while 0 <= position < end:
            row = bisect.bisect_right(offsets, position) - 1
            if position + len(target) <= offsets[row + 1]:
                hits[row] = 1
                position = data.find(target, offsets[row + 1])
            else:
                position = data.find(target, position + 1)
        flags = pa.Array.from_buffers(pa.uint8(), rows, [None, pa.py_buffer(bytes(hits))])
        return pc.not_equal(flags, 0)

    def _mask(self, key: ResultKey) -> Any:
        mask: Any = None
        for name, values in zip(
            FILTER_FIELDS, (key.account_ids, key.resource_types, key.regions, key.statuses), strict=True
        ):
            if values:
                part = pc.is_in(self.table.column(name), value_set=pa.array(values, pa.string()))
                mask = part if mask is None else pc.and_(mask, part)
        if key.search:
            part = self._search_hits(key.search)
            mask = part if mask is None else pc.and_(mask, part)
        return None if mask is None else pc.fill_null(mask, False)

    def matching(self, key: ResultKey) -> Matched:
        """The rows that match, in the requested order (cached per snapshot); sorted only as far as read."""
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
            found = Matched(self, key, self._mask(key))
            self._results[key] = found
            if len(self._results) > _RESULT_CACHE_SIZE:
                self._results.popitem(last=False)
        return found

    def iter_rows(self, indexes: Sequence[int]) -> Iterator[dict[str, Any]]:
        ordered = list(indexes)
        for start in range(0, len(ordered), _EXPORT_BATCH):
            batch = self.table.take(pa.array(ordered[start : start + _EXPORT_BATCH], pa.int64()))
            for row in batch.to_pylist():
                yield _public_row(row)


class Matched(Sequence[int]):
    """Row indexes of one result in order. Its length is a count; a page needs only the first rows in order
    (top-k selection, O(n log k)), so a cold page never waits for a full sort; deeper pages sort once."""

    def __init__(self, snapshot: Snapshot, key: ResultKey, mask: Any) -> None:
        self._snapshot = snapshot
        self._key = key
        self._mask = mask
        self._total = snapshot.table.num_rows if mask is None else int(pc.sum(mask).as_py() or 0)
        self._head: list[int] = []  # the first len(_head) indexes in order (all of them once fully sorted)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._total

    def _ensure(self, count: int) -> list[int]:
        count = min(count, self._total)
        with self._lock:
            if len(self._head) >= count:
                return self._head
            keys = self._snapshot._sort_keys(self._key.sort_by)
            positions: Any = None
            if self._mask is not None:
                positions = pc.indices_nonzero(self._mask)
                keys = keys.filter(self._mask)
            direction = "descending" if self._key.sort_order == "desc" else "ascending"
            sort_keys = [("k", direction), ("a", direction)]
            wanted = count if count <= _TOP_K_LIMIT else self._total
            if wanted < self._total:
                order = pc.select_k_unstable(keys, k=wanted, sort_keys=sort_keys)
            else:
                order = pc.sort_indices(keys, sort_keys=sort_keys)
            if positions is not None:
                order = pc.take(positions, order)
            self._head = order.to_pylist()
            return self._head

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._total)
            window = self._ensure(max(start, stop))[start:stop:step]
            self._snapshot.rows.prefetch(window)
            return window
        position = index if index >= 0 else self._total + index
        if not 0 <= position < self._total:
            raise IndexError(index)
        return self._ensure(position + 1)[position]

    def __iter__(self) -> Iterator[int]:
        return iter(self._ensure(self._total))


class ReadModel:
    """The current rows of one process: a published snapshot (or a table read) plus the change journal.

    Every call of ``snapshot()`` is a request: it refreshes what is due, synchronously, then answers.
    ``ttl_s`` bounds how long a base (snapshot or table read) and the account list are used before asking
    for newer ones (0 = every request); ``refresh_s`` how long the journal goes unread (0 = every request).
    """

    def __init__(
        self,
        reader: InventoryReader,
        *,
        ttl_s: float = 0.0,
        stale_s: float = 0.0,
        refresh_s: float = 1.0,
        snapshots: SnapshotSource | None = None,
        journal: ChangeJournal | None = None,
        accounts: AccountLookup | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        del stale_s  # kept for callers; nothing is served stale since the journal keeps every version fresh
        self._reader = reader
        self._ttl_s = ttl_s
        self._refresh_s = refresh_s
        self._snapshots = snapshots
        self._journal = journal
        self._account_lookup = accounts
        self._clock = clock
        self._lock = threading.Lock()
        self._view: Snapshot | None = None
        self._base: pa.Table | None = None
        self._base_etag: str | None = None
        self._base_checked_at = 0.0
        self._applied_upto = 0  # every journal entry up to this number is applied (or given up)
        self._gaps: dict[int, float] = {}  # numbers reserved but not written yet -> when first missed
        self._journal_checked_at = 0.0
        self._overlay: dict[str, tuple[int, dict[str, str]]] = {}
        self._accounts: list[dict[str, Any]] | None = None
        self._accounts_at = 0.0
        self.loads = 0  # base loads (snapshot or table), for tests and logs

    def invalidate(self) -> None:
        """An account was added or removed: the next request re-reads the accounts and the journal."""
        self._accounts = None
        self._journal_checked_at = float("-inf")

    def snapshot(self) -> Snapshot:
        view = self._view
        if view is not None and not self._due(self._clock()):
            return view
        if view is not None and not self._lock.acquire(blocking=False):
            return view  # another request is refreshing; this one answers from the current version
        if view is None:
            self._lock.acquire()
        try:
            return self._refresh()
        finally:
            self._lock.release()

    def _due(self, now: float) -> bool:
        return (
            self._accounts is None
            or now - self._base_checked_at >= self._ttl_s
            or now - self._accounts_at >= self._ttl_s
            or (self._journal is not None and now - self._journal_checked_at >= self._refresh_s)
        )

    def _refresh(self) -> Snapshot:
        now = self._clock()
        if self._view is not None and not self._due(now):
            return self._view
        try:
            changed = self._refresh_parts(now)
        except Exception:
            if self._view is None:
                raise
            logger.exception("read model refresh failed; serving the previous version")
            return self._view
        if changed or self._view is None:
            self._view = Snapshot(self._merged(), self._accounts or [], loaded_at=now)
        return self._view

    def _refresh_parts(self, now: float) -> bool:
        changed = False
        if self._base is None or now - self._base_checked_at >= self._ttl_s:
            changed |= self._refresh_base()
            self._base_checked_at = now
        if self._journal is not None and (changed or now - self._journal_checked_at >= self._refresh_s):
            changed |= self._apply_journal()
            self._journal_checked_at = now
        if changed or self._accounts is None or now - self._accounts_at >= self._ttl_s:
            accounts = self._read_accounts()
            changed |= accounts != self._accounts
            self._accounts, self._accounts_at = accounts, now
        return changed

    def _read_accounts(self) -> list[dict[str, Any]]:
        """The Account items: of the accounts the rows name when a lookup by key is wired (an account with
        no resource yet is then not listed), else every registered account through the account index."""
        if self._account_lookup is None:
            return self._reader.account_items()
        assert self._base is not None
        ids = set(pc.unique(self._base.column("accountId")).to_pylist())
        ids |= {row["accountId"] for _, row in self._overlay.values()}
        return sorted(self._account_lookup.accounts_by_id(sorted(i for i in ids if i)), key=lambda a: str(a["pk"]))

    def _refresh_base(self) -> bool:
        started = self._clock()
        if self._snapshots is not None:
            found = self._snapshots.latest(self._base_etag)
            if isinstance(found, _Unchanged):
                return False
            if found is not None:
                self._set_base(table_from_snapshot(found.data), found.watermark, found.etag)
                self._log_load("snapshot", started, found.watermark)
                return True
        # before the read: what is written during it is in the journal after this (re-applied: idempotent)
        head = max(0, self._journal.head() - _TABLE_READ_OVERLAP) if self._journal is not None else 0
        rows = [grid_row(item) for item in self._reader.resources(None)]
        self._set_base(table_from_rows(rows), head, None)
        self._log_load("table", started, head)
        return True

    def _set_base(self, table: pa.Table, watermark: int, etag: str | None) -> None:
        self._base, self._base_etag = table, etag
        self._overlay, self._gaps = {}, {}
        self._applied_upto = watermark
        self.loads += 1

    def _log_load(self, source: str, started: float, watermark: int) -> None:
        assert self._base is not None
        logger.info(
            "read model base loaded",
            extra={
                "source": source,
                "resources": self._base.num_rows,
                "journal_watermark": watermark,
                "duration_ms": round((self._clock() - started) * 1000),
            },
        )

    def _apply_journal(self) -> bool:
        assert self._journal is not None
        head = self._journal.head()
        fresh = range(self._applied_upto + 1, head + 1)
        if not fresh and not self._gaps:
            return False
        entries = self._journal.entries([*self._gaps, *fresh])
        changed = False
        for seq in sorted(entries):
            for row in entries[seq]:
                arn = row["resourceArn"]
                held = self._overlay.get(arn)
                if held is None or seq >= held[0]:  # entries of one resource are numbered in write order
                    self._overlay[arn] = (seq, row)
                    changed = True
        now = self._clock()
        for seq in fresh:
            if seq not in entries:
                self._gaps[seq] = now
        self._gaps = {seq: at for seq, at in self._gaps.items() if seq not in entries and now - at < GAP_WAIT_S}
        self._applied_upto = max(self._applied_upto, head)
        return changed

    def _merged(self) -> pa.Table:
        assert self._base is not None
        return apply_rows(self._base, [row for _, row in self._overlay.values()])
