"""Fixed-window rate limit per user (TRD section 7: 100 requests per minute), over a pluggable counter store."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class CounterStore(Protocol):
    """Port: atomically adds one hit to (key, window) and returns the new count.

    ``expires_at`` (epoch seconds) tells a shared store when the counter may be dropped.
    """

    def hit(self, key: str, window: int, expires_at: int) -> int: ...


@dataclass
class InMemoryCounterStore:
    """Counters of one process (uvicorn on a laptop, one Lambda container)."""

    def __post_init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int, expires_at: int) -> int:  # noqa: ARG002 - old windows are pruned here
        with self._lock:
            if len(self._counts) > 10_000:  # drop windows that are over
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after_s: int


class RateLimiter:
    def __init__(
        self, store: CounterStore, limit: int, *, window_s: int = 60, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._limit = limit
        self._window_s = window_s
        self._clock = clock

    @property
    def limit(self) -> int:
        return self._limit

    def check(self, user_id: str) -> Decision:
        now = self._clock()
        window = int(now // self._window_s)
        window_end = (window + 1) * self._window_s
        count = self._store.hit(user_id, window, expires_at=window_end + self._window_s)
        retry_after = max(1, math.ceil(window_end - now))
        return Decision(allowed=count <= self._limit, remaining=max(0, self._limit - count), retry_after_s=retry_after)
