from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from inventory_events import GLOBAL_REGION, Resource, Scope
from inventory_lake import RESOURCES_PARTITIONS, arrow_table, ensure_properties, ensure_tables, to_naive_utc
from inventory_lake.maintenance import DELETE_OLD_METADATA_PROPERTIES, compact, expire_and_delete
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import And, EqualTo, GreaterThan, In, Or
from pyiceberg.table import Table

from lake_writer.ports import AppliedPage, CommitConflictError, KnownRow, ParkedCompletion, ScopeProgress

SWEEP_PAGE = 0
"""``scope_pages`` rows: page > 0 an applied page; 0 a sweep by a complete scan started at ``applied_at``;
-n a complete scope completion of n pages parked until they are all applied (``applied_at``: its scan start)."""
PAGES_FILES_TO_COMPACT = 16
"""``scope_pages`` gains one small file per commit; a sweep that finds more than this many rewrites it as one,
so ``progress`` and ``sweep_starts`` read a few files whatever the table's age, not one per commit ever made."""
logger = logging.getLogger(__name__)


def _page_row(execution_id: str, scope: Scope, page: int, at: datetime) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "account_id": scope.account_id,
        "region": scope.region,
        "resource_type": scope.resource_type,
        "page": page,
        "applied_at": at,
    }


def _any_of(parts: list[Any]) -> Any:
    expr = parts[0]
    for part in parts[1:]:
        expr = Or(expr, part)
    return expr


PartitionKey = tuple[str, str, str]  # account_id, region, resource_type: the partition of a ``resources`` row


def _by_partition(rows: Sequence[Any]) -> dict[PartitionKey, set[str]]:
    """ARNs grouped by their ``resources`` partition; ``rows`` are resources or row dicts."""
    groups: dict[PartitionKey, set[str]] = {}
    for row in rows:
        values = row if isinstance(row, dict) else vars(row)
        key = (str(values["account_id"]), str(values["region"]), str(values["resource_type"]))
        groups.setdefault(key, set()).add(str(values["resource_arn"]))
    return groups


def _partition_filter(key: PartitionKey) -> Any:
    account_id, region, resource_type = (
        EqualTo(name, value) for name, value in zip(RESOURCES_PARTITIONS, key, strict=True)
    )
    return And(account_id, And(region, resource_type))


class IcebergLakeStore:
    """``resources``, ``resource_history`` and ``scope_pages`` through pyiceberg; one transaction per table.

    ``keep_snapshots``: after each recorded sweep, every table keeps only its newest that many snapshots. Each
    commit adds one, and pyiceberg deep-copies the whole snapshot list on every metadata update and reads every
    manifest of the current one, so an unbounded list makes each commit slower than the last (a fifth of a
    batch's time after three scans of 2,000 resources, growing with every scan). S3 Tables expires snapshots
    itself (its maintenance), so the bootstrap passes 0 (keep all) there; a local catalog has nobody else to.
    With ``keep_snapshots``, expiry also deletes the files only the expired snapshots referenced, and each
    commit the metadata file that fell off the log, and files no snapshot references once ``orphan_age`` old
    (as S3 Tables' unreferenced-file removal does in AWS): without it the emulator's lake bucket only grew.
    """

    def __init__(
        self,
        catalog: Catalog,
        namespace: str,
        *,
        keep_snapshots: int = 0,
        orphan_age: timedelta = timedelta(minutes=15),
    ) -> None:
        tables = ensure_tables(catalog, namespace)
        self._resources = tables.resources
        self._history = tables.history
        self._pages = tables.scope_pages
        self._keep_snapshots = keep_snapshots
        self._orphan_age = orphan_age
        if keep_snapshots:
            for table in (self._resources, self._history, self._pages):
                ensure_properties(table, DELETE_OLD_METADATA_PROPERTIES)
        # known()'s read of the partitions (snapshot id, partitions, rows), which write() reuses on that snapshot
        self._read: tuple[int | None, frozenset[PartitionKey], pa.Table] | None = None

    def _commit(self, table: Table, change: Callable[[Any], None]) -> None:
        """Run ``change`` in a transaction on the snapshot the caller read; a lost race is a CommitConflictError.

        No refresh here: the rows were computed from what the caller read, so the transaction must start
        from that snapshot for pyiceberg to detect files another writer added under our delete filter.
        """
        try:
            with warnings.catch_warnings():
                # Replacing rows that are not there yet is the normal first sighting, not a problem.
                warnings.filterwarnings("ignore", "Delete operation did not match any records", UserWarning)
                with table.transaction() as tx:
                    change(tx)
        except (CommitFailedException, ValidationException) as exc:
            # ValidationException: pyiceberg's own retry found files another writer added under our delete
            # filter; the rows must be recomputed from the new snapshot, so it is a conflict like any other.
            raise CommitConflictError(str(exc)) from exc

    def _read_partitions(self, keys: Iterable[PartitionKey]) -> pa.Table:
        """Every row of these ``resources`` partitions (filters on partition columns only: a large ``In`` over
        ARNs is bound again for every manifest entry a scan or delete evaluates, most of a batch's time)."""
        return self._resources.scan(row_filter=_any_of([_partition_filter(k) for k in keys])).to_arrow()

    def _replace_partitions(self, keys: Iterable[PartitionKey], data: pa.Table) -> None:
        """Overwrite these partitions with ``data`` in one commit, on the snapshot they were read from.

        Their files match the filter as a whole, so they are dropped, not rewritten; a writer that added a file
        to one of them meanwhile makes the commit a conflict (pyiceberg validates the filter on retry).
        """
        where = _any_of([_partition_filter(k) for k in keys])
        self._commit(self._resources, lambda tx: tx.overwrite(data, overwrite_filter=where))

    def known(self, resources: Sequence[Resource]) -> dict[str, KnownRow]:
        self._resources.refresh()
        self._read = None
        if not resources or self._resources.current_snapshot() is None:
            return {}
        keys = set(_by_partition(resources))
        found = self._read_partitions(keys)
        snapshot = self._resources.current_snapshot()
        self._read = (snapshot.snapshot_id if snapshot else None, frozenset(keys), found)  # for write()
        wanted = pa.array([r.resource_arn for r in resources], pa.string())
        found = found.filter(pc.is_in(found.column("resource_arn"), value_set=wanted)).select(
            ["resource_arn", "first_discovered_at", "last_discovered_at"]
        )
        return {
            row["resource_arn"]: KnownRow(row["first_discovered_at"], row["last_discovered_at"])
            for row in found.to_pylist()
        }

    def write(self, resource_rows: list[dict[str, Any]], history_rows: list[dict[str, Any]]) -> None:
        if resource_rows:
            keys = set(_by_partition(resource_rows))
            data = arrow_table(resource_rows, self._resources.schema().as_arrow())
            snapshot = self._resources.current_snapshot()
            if snapshot is not None:
                read = self._read
                if read and read[0] == snapshot.snapshot_id and keys <= read[1]:
                    existing = read[2]
                else:
                    existing = self._read_partitions(keys)
                existing = existing.filter(
                    pc.invert(pc.is_in(existing.column("resource_arn"), value_set=data.column("resource_arn")))
                )
                data = pa.concat_tables([existing.cast(data.schema), data])
            self._replace_partitions(keys, data)
        if history_rows:
            by_execution: dict[str, set[str]] = {}
            for r in history_rows:
                by_execution.setdefault(r["execution_id"], set()).add(r["resource_arn"])
            keys = _any_of([And(EqualTo("execution_id", ex), In("resource_arn", a)) for ex, a in by_execution.items()])
            history = arrow_table(history_rows, self._history.schema().as_arrow())
            # from the newest snapshot: another writer's expiry may have deleted the files of one this writer
            # last saw (the rows do not depend on what the table held, so no read is invalidated)
            self._history.refresh()

            def replace_history(tx: Any) -> None:
                tx.delete(keys)
                tx.append(history)

            self._commit(self._history, replace_history)
        # Arrow keeps freed buffers for reuse; give them back so a long-lived writer's RSS follows its batches.
        pa.default_memory_pool().release_unused()

    def _append_pages(self, rows: list[dict[str, Any]]) -> None:
        data = arrow_table(rows, self._pages.schema().as_arrow())
        self._pages.refresh()  # a merging append reads the manifests of the snapshot it starts from
        self._commit(self._pages, lambda tx: tx.append(data))

    def record_pages(self, pages: Sequence[AppliedPage], parked: Sequence[ParkedCompletion] = ()) -> None:
        now = to_naive_utc(datetime.now().astimezone())
        rows = [_page_row(p.execution_id, p.scope, p.page, now) for p in pages]
        rows += [_page_row(c.execution_id, c.scope, -c.page_count, to_naive_utc(c.scan_started_at)) for c in parked]
        if rows:
            self._append_pages(rows)

    def record_sweeps(self, sweeps: Sequence[tuple[str, Scope, datetime]]) -> None:
        # Page 0 never names a real page: it marks the scope swept by a complete scan started at applied_at.
        self._append_pages([_page_row(ex, scope, SWEEP_PAGE, to_naive_utc(started)) for ex, scope, started in sweeps])
        self.compact_pages()
        self.expire_snapshots()

    def compact_pages(self, max_files: int = PAGES_FILES_TO_COMPACT) -> bool:
        """Rewrite ``scope_pages`` as one file once it holds more than ``max_files`` (the snapshot summary
        counts them, so the check reads nothing). A writer that appends meanwhile makes the rewrite a conflict
        (pyiceberg validates the overwrite's filter against files added since), never a lost page: the
        compaction then waits for a later sweep."""
        snapshot = self._pages.current_snapshot()
        files = int((snapshot.summary.get("total-data-files") if snapshot and snapshot.summary else None) or 0)
        if files <= max_files:
            return False
        try:
            compact(self._pages)
        except (CommitFailedException, ValidationException) as exc:
            logger.info("scope_pages compaction waits for a later sweep", extra={"error": str(exc)})
            self._pages.refresh()
            return False
        logger.info("compacted scope_pages", extra={"files_before": files})
        return True

    def expire_snapshots(self) -> int:
        """Expire all but the newest ``keep_snapshots`` snapshots of a table once it holds half as many more.

        Returns how many were expired. Expiring in steps of half of ``keep_snapshots`` (not after every sweep)
        makes expiry one commit per table every few dozen sweeps. A writer that commits meanwhile only makes
        this table's expiry wait for a later sweep. The files only the expired snapshots referenced are
        deleted (:func:`inventory_lake.maintenance.expire_and_delete`).
        """
        if not self._keep_snapshots:
            return 0
        expired = deleted = 0
        for table in (self._resources, self._history, self._pages):
            table.refresh()
            if len(table.metadata.snapshots) <= self._keep_snapshots + max(1, self._keep_snapshots // 2):
                continue
            current = table.current_snapshot()
            newest_first = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
            old = [
                s.snapshot_id
                for s in newest_first[self._keep_snapshots :]
                if current is None or s.snapshot_id != current.snapshot_id
            ]
            if not old:
                continue
            try:
                deleted += expire_and_delete(table, old, orphans_before=datetime.now(UTC) - self._orphan_age)
            except (CommitFailedException, ValidationException, ValueError) as exc:
                logger.info("snapshot expiry waits for a later sweep", extra={"table": table.name(), "error": str(exc)})
                continue
            expired += len(old)
        if expired:
            logger.info(
                "expired old snapshots",
                extra={"snapshots": expired, "kept_per_table": self._keep_snapshots, "files_deleted": deleted},
            )
        return expired

    def sweep_starts(self, scopes: Sequence[Scope]) -> dict[str, list[datetime]]:
        self._pages.refresh()
        if not scopes or self._pages.current_snapshot() is None:
            return {}
        accounts = {s.account_id for s in scopes}
        found = self._pages.scan(
            row_filter=And(EqualTo("page", SWEEP_PAGE), In("account_id", accounts)),
            selected_fields=("account_id", "region", "resource_type", "applied_at"),
        ).to_arrow()
        wanted = {s.key for s in scopes}
        starts: dict[str, set[datetime]] = {}
        for row in found.to_pylist():
            key = f"{row['account_id']}#{row['region']}#{row['resource_type']}"
            if key in wanted:
                starts.setdefault(key, set()).add(row["applied_at"].replace(tzinfo=UTC))
        return {key: sorted(at) for key, at in starts.items()}

    def progress(self, scopes: Sequence[tuple[str, Scope]]) -> dict[tuple[str, str], ScopeProgress]:
        self._pages.refresh()
        if not scopes or self._pages.current_snapshot() is None:
            return {}
        wanted = {(ex, scope.key): scope for ex, scope in scopes}
        found = self._pages.scan(
            row_filter=In("execution_id", {ex for ex, _ in scopes}),
            selected_fields=("execution_id", "account_id", "region", "resource_type", "page", "applied_at"),
        ).to_arrow()
        pages: dict[tuple[str, str], set[int]] = {}
        parked: dict[tuple[str, str], ParkedCompletion] = {}
        swept: set[tuple[str, str]] = set()
        for row in found.to_pylist():
            key = (row["execution_id"], f"{row['account_id']}#{row['region']}#{row['resource_type']}")
            if key not in wanted:
                continue
            if row["page"] > SWEEP_PAGE:
                pages.setdefault(key, set()).add(row["page"])
            elif row["page"] == SWEEP_PAGE:
                swept.add(key)
            else:
                started = row["applied_at"].replace(tzinfo=UTC)
                parked[key] = ParkedCompletion(key[0], wanted[key], -row["page"], started)
        return {
            key: ScopeProgress(len(pages.get(key, ())), parked.get(key), key in swept)
            for key in pages.keys() | parked.keys() | swept
        }

    def mark_missing(self, sweeps: Sequence[tuple[Scope, datetime]]) -> int:
        self._resources.refresh()
        if not sweeps or self._resources.current_snapshot() is None:
            return 0
        earliest = min(to_naive_utc(started) for _, started in sweeps)
        # the swept scopes' partitions (a global scope's rows may name any region)
        scopes = _any_of(
            [
                And(EqualTo("account_id", s.account_id), EqualTo("resource_type", s.resource_type))
                if s.region == GLOBAL_REGION
                else _partition_filter((s.account_id, s.region, s.resource_type))
                for s in {scope.key: scope for scope, _ in sweeps}.values()
            ]
        )
        # active rows, and rows missing since a later scan than one of these sweeps (it may move them back)
        candidates = self._resources.scan(
            row_filter=And(scopes, Or(EqualTo("discovery_status", "active"), GreaterThan("missing_since", earliest))),
            selected_fields=(
                "resource_arn",
                "account_id",
                "region",
                "resource_type",
                "last_discovered_at",
                "discovery_status",
                "missing_since",
            ),
        ).to_arrow()
        cutoffs: dict[str, list[datetime]] = {}  # a batch may hold two scans' sweeps of one scope
        for scope, started in sweeps:
            cutoffs.setdefault(scope.key, []).append(to_naive_utc(started))
        global_types = {(s.account_id, s.resource_type): s.key for s, _ in sweeps if s.region == GLOBAL_REGION}
        since: dict[str, datetime] = {}  # arn -> start of the earliest sweeping scan that did not find it
        partitions: dict[PartitionKey, set[str]] = {}
        for row in candidates.to_pylist():
            key = f"{row['account_id']}#{row['region']}#{row['resource_type']}"
            key = key if key in cutoffs else global_types.get((row["account_id"], row["resource_type"]), key)
            last = row["last_discovered_at"]
            missed_by = [cutoff for cutoff in cutoffs.get(key, []) if last is not None and cutoff > last]
            # active, or missing since a later scan's start (an older sweep processed late moves it back)
            was = row["missing_since"]
            if missed_by and (row["discovery_status"] == "active" or was is None or was > min(missed_by)):
                since[row["resource_arn"]] = min(missed_by)
                partition = (row["account_id"], row["region"], row["resource_type"])
                partitions.setdefault(partition, set()).add(row["resource_arn"])
        if not since:
            return 0
        rows = self._read_partitions(partitions)
        stale = pc.is_in(rows.column("resource_arn"), value_set=pa.array(list(since), pa.string()))
        status = pc.if_else(stale, pa.scalar("missing"), rows.column("discovery_status"))
        missing_since = pc.if_else(
            stale,
            pc.cast(
                pa.array([since.get(arn) for arn in rows.column("resource_arn").to_pylist()]),
                rows.schema.field("missing_since").type,
            ),
            rows.column("missing_since"),
        )
        rows = rows.set_column(rows.schema.get_field_index("discovery_status"), "discovery_status", status)
        rows = rows.set_column(
            rows.schema.get_field_index("missing_since"), rows.schema.field("missing_since"), missing_since
        )
        self._replace_partitions(partitions, rows.cast(self._resources.schema().as_arrow()))
        return len(since)
