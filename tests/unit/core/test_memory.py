"""Heap trimming during long work: periodic, stopped with the block, and really giving freed memory back."""

from __future__ import annotations

import gc
import importlib
import threading
import time
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from inventory_core import memory
from inventory_core.memory import trim_available, trim_heap, trimmed_after, trimming


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_trims_periodically_while_the_block_runs_and_stops_with_it() -> None:
    calls: list[str] = []
    with trimming(0.01, trim=lambda: calls.append(threading.current_thread().name)):
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    after = len(calls)
    time.sleep(0.05)
    assert after >= 3
    assert len(calls) == after  # the thread is gone once the block ends
    assert set(calls) == {"heap-trim"}


def test_an_interval_of_zero_never_trims() -> None:
    calls: list[int] = []
    with trimming(0, trim=lambda: calls.append(1)):
        time.sleep(0.05)
    assert calls == []
    assert "heap-trim" not in {t.name for t in threading.enumerate()}


def test_a_failing_trim_is_logged_and_the_work_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("no")

    with trimming(0.01, trim=broken):
        time.sleep(0.1)
    assert "heap trim failed" in caplog.text


@pytest.mark.skipif(not trim_available(), reason="needs glibc's malloc_trim (Linux with glibc)")
def test_glibc_trim_gives_back_freed_memory_that_live_blocks_hold_in_place() -> None:
    # 100 MB of 1 KiB blocks (malloc'd, not pymalloc), then all freed but every 100th: the heap cannot shrink from
    # the top, so without a trim the freed 99 MB stays resident
    blocks = [bytes(1024) + bytes([i % 256]) for i in range(100_000)]
    kept = blocks[::100]
    del blocks
    gc.collect()
    before = _rss_mb()
    with trimming(0.01):
        time.sleep(0.2)
    after = _rss_mb()
    assert len(kept) == 1_000
    assert before - after > 50, (before, after)


def test_trimmed_after_trims_once_after_a_return_and_after_a_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda: calls.append(1))

    @trimmed_after
    def batch(value: int) -> int:
        if value < 0:
            raise ValueError("bad batch")
        return value * 2

    assert batch(21) == 42
    assert calls == [1]
    with pytest.raises(ValueError, match="bad batch"):
        batch(-1)
    assert calls == [1, 1]  # the failed batch's memory is given back too, and its error still reaches the caller


def test_a_failing_one_shot_trim_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise OSError("no trim today")

    trim_heap(trim=broken)  # does not raise
    assert "heap trim failed" in caplog.text


@pytest.mark.parametrize(
    "module",
    ["ddb_projector.handler", "lake_writer.handler", "archiver.handler"],
)
def test_each_consumer_trims_after_every_batch(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda: calls.append(1))
    handler = importlib.import_module(module)

    class NoService:
        def handle(self, event: object) -> None:
            raise AssertionError("a record that does not parse reaches no service")

        def apply(self, events: list[object]) -> object:
            assert events == []
            return type("Result", (), {"rows_written": 0, "marked_missing": 0, "swept": 0, "parked": 0})()

    poison = {"messageId": "m-1", "receiptHandle": "r-1", "body": "not an event", "attributes": {},
              "messageAttributes": {}, "eventSource": "aws:sqs"}  # fmt: skip
    try:
        response = handler.handle_batch({"Records": [poison]}, None, NoService())
    except BatchProcessingError:  # the lake writer and the archiver fail a batch whose every record failed
        assert module != "ddb_projector.handler"
    else:  # the projector reports it (raise_on_entire_batch_failure=False)
        assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert calls == [1]  # trimmed after the batch either way
