"""One consumer in a process of its own, as each is its own Lambda function in AWS (the soak starts three).

    python -m tests.chaos.consumer lake-writer 2 5

It reads the local stack's environment and runs that many concurrent pollers (the function's concurrent
invocations: the stack caps the lake writer at 2, the others scale out), each with its own service instance,
calling the service's own batch handler until SIGTERM; a failed record comes back after 5, 10, 20, 30 s (the
third argument; in AWS it comes back after the queue's 120 s visibility timeout). One JSON line per batch
(records, seconds, when it ended) goes to stdout for the soak's profile.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

from inventory_cli.runtime import Consumers
from inventory_core.aws import AwsClientFactory
from inventory_core.sqs import SqsLambdaPoller

_PRINT = threading.Lock()


def emit(line: dict[str, Any]) -> None:
    """One JSON line to stdout; the pollers' threads print whole lines, never into each other's."""
    with _PRINT:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def poller(name: str, retry_delay_s: float) -> SqsLambdaPoller:
    consumers = Consumers.build(
        AwsClientFactory(os.environ["AWS_DEFAULT_REGION"]), retry_delay_s=retry_delay_s, wait_s=1
    )
    (chosen,) = [p for p in consumers.pollers if p.name == name]
    handler = chosen._handler

    def timed(event: dict[str, Any], context: Any) -> Any:
        started = time.monotonic()
        try:
            return handler(event, context)
        finally:
            ended = time.monotonic()
            # "at": when the batch ended (epoch seconds), to place the batches on the soak's timeline
            emit(
                {
                    "consumer": name,
                    "records": len(event["Records"]),
                    "s": round(ended - started, 3),
                    "at": round(time.time(), 2),
                }
            )

    chosen._handler = timed
    return chosen


def main(name: str, concurrency: int, retry_delay_s: float) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pollers = [poller(name, retry_delay_s) for _ in range(concurrency)]
    threads = [threading.Thread(target=p.run, args=(stop,), daemon=True) for p in pollers]
    for thread in threads:
        thread.start()
    emit({"consumer": name, "ready": True, "concurrency": concurrency})
    parent = os.getppid()
    while not stop.wait(1):
        if os.getppid() != parent:  # the soak died without stopping us
            stop.set()
    for thread in threads:
        thread.join(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1, float(sys.argv[3]) if len(sys.argv) > 3 else 5.0)
