"""Running an action every few seconds on a thread of its own while a block of work runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def periodically(interval_s: float, action: Callable[[], object], *, name: str) -> Iterator[None]:
    """Call ``action`` every ``interval_s`` seconds (first after one interval) until the block ends.

    The thread is a daemon named ``name``; it is stopped and joined when the block ends, even by an error. The
    action handles its own errors: one that escapes ends the thread (Python prints it).
    """
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            action()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
