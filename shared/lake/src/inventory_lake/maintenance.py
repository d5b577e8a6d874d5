"""Table maintenance for the local catalog and self-managed Iceberg (S3 Tables does this itself in AWS).

In AWS, S3 Tables' maintenance expires snapshots and its unreferenced-file removal deletes the data and
metadata files no snapshot needs any more. A local or self-managed catalog has nobody else to: pyiceberg's
expiry only drops snapshots from the metadata, so :func:`expire_and_delete` deletes the files only the
expired snapshots referenced, and :data:`DELETE_OLD_METADATA_PROPERTIES` makes each commit delete the
metadata file that fell off the table's metadata log. The two paths then hold the same files.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyarrow.fs import FileSelector, FileType
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import ManifestFile
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

logger = logging.getLogger(__name__)

DELETE_OLD_METADATA_PROPERTIES = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
}
"""A commit deletes the metadata file that fell off the log of the newest 20 (every commit writes one, about
a hundred kilobytes with a hundred snapshots, kept forever by default). Local catalogs only: S3 Tables removes
unreferenced files itself."""


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


def referenced_files(table: Table, snapshots: Iterable[Snapshot]) -> set[str]:
    """Every file these snapshots need: their manifest lists, manifests and live data and delete files.

    Each distinct manifest is read once, however many of the snapshots share it.
    """
    files: set[str] = set()
    manifests: dict[str, ManifestFile] = {}
    for snapshot in snapshots:
        if snapshot.manifest_list:
            files.add(snapshot.manifest_list)
            for manifest in snapshot.manifests(table.io):
                manifests[manifest.manifest_path] = manifest
    for path, manifest in manifests.items():
        files.add(path)
        files.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(table.io))
    return files


def expire_and_delete(table: Table, snapshot_ids: Sequence[int], *, orphans_before: datetime | None = None) -> int:
    """Expire these snapshots (one commit), then delete the files only they referenced; returns files deleted.

    A file one of the remaining snapshots still needs is kept (the set difference is taken after the commit,
    on the metadata it produced). A commit by another writer meanwhile builds on the current snapshot, which
    is never expired, so it cannot reference a deleted file. With ``orphans_before``, files no snapshot
    references that were written before it are deleted too (:func:`delete_orphans`). A file that cannot be
    deleted is logged and left (it only costs storage). Raises what the expiry commit raises (a lost race:
    nothing is deleted).
    """
    wanted = set(snapshot_ids)
    expired = [s for s in table.metadata.snapshots if s.snapshot_id in wanted]
    candidates = referenced_files(table, expired)
    table.maintenance.expire_snapshots().by_ids(list(wanted)).commit()
    kept = referenced_files(table, table.metadata.snapshots)
    deleted = 0
    for path in candidates - kept:
        try:
            table.io.delete(path)
            deleted += 1
        except OSError as exc:
            logger.warning("unreferenced file left in place", extra={"path": path, "error": str(exc)})
    if orphans_before is not None:
        deleted += delete_orphans(table, orphans_before, kept)
    return deleted


def delete_orphans(table: Table, before: datetime, referenced: set[str] | None = None) -> int:
    """Delete the files under the table's location that nothing references and were written before ``before``.

    Orphans are what no commit ever published: the files of a commit that lost a race, and the manifest a
    merging append writes and then merges away. ``before`` must be older than any commit still in flight (a
    writer's files exist before its commit names them). The current metadata file and those on its log are
    kept. Only for a PyArrow file IO (the local catalog's); returns files deleted.
    """
    io = table.io
    if not isinstance(io, PyArrowFileIO):
        return 0
    keep = referenced_files(table, table.metadata.snapshots) if referenced is None else referenced
    keep = keep | {entry.metadata_file for entry in table.metadata.metadata_log} | {table.metadata_location}
    scheme, netloc, root = io.parse_location(table.location(), io.properties)
    fs = io.fs_by_scheme(scheme, netloc)
    deleted = 0
    for info in fs.get_file_info(FileSelector(root, recursive=True, allow_not_found=True)):
        uri = f"{scheme}://{info.path}" if scheme not in ("", "file") else info.path
        if info.type != FileType.File or info.mtime is None or info.mtime >= before:
            continue
        if uri in keep or f"file://{info.path}" in keep:
            continue
        try:
            fs.delete_file(info.path)
            deleted += 1
        except OSError as exc:
            logger.warning("orphan file left in place", extra={"path": uri, "error": str(exc)})
    return deleted


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
        expire_and_delete(table, old)
    table.refresh()
    return before - len(table.snapshots())
