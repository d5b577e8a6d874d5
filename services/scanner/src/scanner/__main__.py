"""Container entry point (TRD section 2.1).

``python -m scanner`` runs one scan and exits when it is a scheduled or launched task (``ACCOUNT_ID`` and
``EXECUTION_ID`` optional, or ``--once``), and is the long-running worker on scan-requests when
``SCAN_REQUESTS_QUEUE_URL`` is set and no single scan was asked for.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import uuid

from inventory_core.aws import AwsClientFactory
from inventory_core.logs import service_logger
from inventory_events import ScanRequested, parse_event

from scanner.bootstrap import build_service
from scanner.logcontext import LogKeysFilter
from scanner.settings import ScannerSettings
from scanner.worker import ScanRequestWorker

logger = logging.getLogger("scanner")


def one_scan_request(accounts: list[str] | None) -> ScanRequested:
    """The request of a one-shot task: an EXECUTION_ID set by the launcher (API) or a fresh one (schedule)."""
    execution_id = os.environ.get("EXECUTION_ID") or str(uuid.uuid4())
    account_ids = accounts or ([os.environ["ACCOUNT_ID"]] if os.environ.get("ACCOUNT_ID") else None)
    trigger = "api" if os.environ.get("EXECUTION_ID") else "schedule"
    return ScanRequested(execution_id=execution_id, account_ids=account_ids, trigger=trigger, requested_by=trigger)


def setup_logging() -> None:
    """JSON lines (Powertools) for the scanner's and the shared libraries' loggers, each with the scan's keys.

    Other libraries' lines stay plain text at WARNING.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    service_logger("scanner", "scanner", level=os.environ.get("LOG_LEVEL", "INFO")).registered_handler.addFilter(
        LogKeysFilter()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scanner")
    parser.add_argument("--once", action="store_true", help="run one scan of the given (or all) accounts and exit")
    parser.add_argument("--account", action="append", dest="accounts", help="account id (repeatable)")
    parser.add_argument("--request", help="a ScanRequested as JSON (one shard of a fanned-out execution)")
    args = parser.parse_args(argv)
    setup_logging()
    settings = ScannerSettings()  # values come from the environment
    clients = AwsClientFactory(settings.aws_region)
    service = build_service(settings, clients)
    stop = threading.Event()
    # Fargate sends SIGTERM before it kills the task: finished scopes are reported, unfinished ones stay unmarked.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # --request: a shard task (the shard launcher); SCAN_REQUEST: a task the scan-requests launcher started.
    request_json = args.request or settings.scan_request
    if request_json:
        event = parse_event(request_json)
        if not isinstance(event, ScanRequested):
            parser.error(f"--request must be a ScanRequested, not {event.event_type}")
        # A launched request above SHARD_SIZE fans out into shard tasks (SHARD_LAUNCHER=ecs); a shard scans.
        result = service.handle(event, cancel=stop)
        return 0 if result is None or all(a.status != "failed" for a in result.accounts) else 1
    single = args.once or args.accounts or os.environ.get("ACCOUNT_ID") or os.environ.get("EXECUTION_ID")
    if single or not settings.scan_requests_queue_url:
        request = one_scan_request(args.accounts)
        logger.info(
            "one-shot scan",
            extra={"execution_id": request.execution_id, "accounts": request.account_ids, "trigger": request.trigger},
        )
        # The scheduled task of a fleet above SHARD_SIZE fans out too, like a launched request.
        result = service.handle(request, cancel=stop)
        return 0 if result is None or all(a.status != "failed" for a in result.accounts) else 1
    ScanRequestWorker(clients.client("sqs"), settings.scan_requests_queue_url, service).run(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
