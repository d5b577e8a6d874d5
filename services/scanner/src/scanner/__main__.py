"""Container entry point: ``python -m scanner`` polls scan-requests; ``--once`` runs one scan and exits."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import uuid

from inventory_core.aws import AwsClientFactory
from inventory_events import ScanRequested

from scanner.bootstrap import build_service
from scanner.settings import ScannerSettings
from scanner.worker import ScanRequestWorker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scanner")
    parser.add_argument("--once", action="store_true", help="run one scan of the given (or all) accounts and exit")
    parser.add_argument("--account", action="append", dest="accounts", help="account id (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = ScannerSettings()  # values come from the environment
    clients = AwsClientFactory(settings.aws_region)
    service = build_service(settings, clients)
    if args.once:
        request = ScanRequested(execution_id=str(uuid.uuid4()), account_ids=args.accounts, trigger="schedule")
        result = service.scan(request)
        return 0 if all(a.status != "failed" for a in result.accounts) else 1
    if not settings.scan_requests_queue_url:
        parser.error("SCAN_REQUESTS_QUEUE_URL is required unless --once is given")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ScanRequestWorker(clients.client("sqs"), settings.scan_requests_queue_url, service).run(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
