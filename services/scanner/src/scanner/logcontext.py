"""Keys every log line of a scan carries (execution_id, account_id, region, resource_type), per thread of work.

snake_case like every ``extra`` key: a line that names one of them itself keeps its own value, never two spellings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_KEYS: ContextVar[dict[str, str]] = ContextVar("scan_log_keys", default={})  # noqa: B039 - never mutated


@contextmanager
def log_keys(**keys: str | None) -> Iterator[None]:
    """Add keys to every record logged inside the block (in this thread or task)."""
    token = _KEYS.set({**_KEYS.get(), **{k: v for k, v in keys.items() if v}})
    try:
        yield
    finally:
        _KEYS.reset(token)


class LogKeysFilter(logging.Filter):
    """Copies the current keys onto each record, where the JSON formatter (Powertools) picks them up."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _KEYS.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
