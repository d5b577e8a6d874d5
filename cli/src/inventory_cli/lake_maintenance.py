"""Table maintenance beside the pipeline, as S3 Tables does it in AWS: snapshot expiry and file removal on a timer.

In AWS, S3 Tables expires the tables' snapshots and removes the files no snapshot needs; the lake writer does
neither (``KEEP_SNAPSHOTS`` does not apply to an S3 Tables catalog). With a local catalog the lake writer does it
itself after a sweep, inside the batch: late in a 10,000-resource soak (py-spy, 2026-12-01) that expiry was 28% of
the writer's busy time (reading every kept snapshot's manifests, then deleting files one request at a time) while
its queue waited, and the lake writer was the last consumer to empty its queue. This process does the same work
(``IcebergLakeStore.expire_snapshots``: keep the newest ``--keep``, delete what only the expired ones referenced
and orphans older than ``ORPHAN_AGE_S``) every ``--every`` seconds; run the writers with ``KEEP_SNAPSHOTS=0`` beside
it and the work sits where AWS has it, next to the pipeline rather than in it. A writer's commit that races an
expiry makes the expiry wait for the next round (or the writer retry its commit), as between two writers.

    python -m inventory_cli.lake_maintenance --every 10 --keep 20
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

logger = logging.getLogger(__name__)


class Expiring(Protocol):
    """What a round needs of the lake writer's ``IcebergLakeStore``."""

    def expire_snapshots(self) -> int: ...


def maintain(stop: threading.Event, store: Expiring, every_s: float) -> int:
    """Expire the store's snapshots every ``every_s`` seconds until ``stop`` is set; returns the rounds run.

    A round that fails (the emulator restarting, a table being created) is logged and the next one tries again.
    """
    rounds = 0
    while not stop.wait(every_s):
        try:
            store.expire_snapshots()
        except Exception:
            logger.exception("table maintenance round failed; the next round tries again")
        rounds += 1
    return rounds


def main(argv: Sequence[str] | None = None) -> None:
    from inventory_lake import load_catalog
    from inventory_lake.s3tables import S3TablesCatalog
    from lake_writer.adapters.iceberg_store import IcebergLakeStore
    from lake_writer.settings import LakeWriterSettings

    parser = argparse.ArgumentParser(
        prog="python -m inventory_cli.lake_maintenance", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--every", type=float, default=10.0, help="seconds between rounds (default 10)")
    parser.add_argument("--keep", type=int, default=20, help="snapshots each table keeps (default 20)")
    args = parser.parse_args(argv)
    if args.every <= 0 or args.keep < 1:
        parser.error("--every must be above 0 and --keep at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = LakeWriterSettings()
    catalog = load_catalog(settings)
    if isinstance(catalog, S3TablesCatalog):
        parser.error("S3 Tables maintains its tables itself; this is for a local or self-managed catalog")
    store = IcebergLakeStore(
        catalog,
        settings.iceberg_namespace,
        keep_snapshots=args.keep,
        orphan_age=timedelta(seconds=settings.orphan_age_s),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"table maintenance every {args.every:g} s, keeping {args.keep} snapshots a table", flush=True)
    rounds = maintain(stop, store, args.every)
    print(f"table maintenance stopped after {rounds} rounds", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
