"""Table maintenance for the local catalog and self-managed Iceberg (S3 Tables does this itself in AWS)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyiceberg.table import Table


@dataclass(frozen=True)
class TableStats:
    """Size of a table's current state."""

    snapshots: int
    data_files: int
    data_bytes: int
    rows: int


def stats(table: Table) -> TableStats:
    """Count snapshots, and data files, bytes and rows of the current snapshot."""
    table.refresh()
    if table.current_snapshot() is None:
        return TableStats(snapshots=len(table.snapshots()), data_files=0, data_bytes=0, rows=0)
    files = table.inspect.files().select(["file_size_in_bytes", "record_count"]).to_pylist()
    return TableStats(
        snapshots=len(table.snapshots()),
        data_files=len(files),
        data_bytes=sum(int(f["file_size_in_bytes"]) for f in files),
        rows=sum(int(f["record_count"]) for f in files),
    )


def compact(table: Table, *, min_files: int = 2) -> bool:
    """Rewrite the current snapshot's data as few large files (one commit); skip if already compact."""
    table.refresh()
    if table.current_snapshot() is None or len(table.inspect.files()) < min_files:
        return False
    data = table.scan().to_arrow()
    with warnings.catch_warnings():
        # An overwrite of a table whose files all match is the point of compaction, not a surprise.
        warnings.filterwarnings("ignore", "Delete operation did not match any records", UserWarning)
        table.overwrite(data)
    return True


def expire_snapshots(table: Table, keep_days: float, now: datetime | None = None) -> int:
    """Expire snapshots older than ``keep_days`` (the current one is always kept); return how many."""
    table.refresh()
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    before = len(table.snapshots())
    current = table.current_snapshot()
    old = [
        s.snapshot_id
        for s in table.snapshots()
        if s.timestamp_ms < cutoff.timestamp() * 1000 and (current is None or s.snapshot_id != current.snapshot_id)
    ]
    if old:
        table.maintenance.expire_snapshots().by_ids(old).commit()
    table.refresh()
    return before - len(table.snapshots())
