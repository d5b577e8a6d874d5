"""A scope completion that arrives before its pages is parked in the lake: the writer that commits second of the
one with the scope's last page and the one with its completion sweeps, in either order, with no retry delay."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from inventory_core.settings import IcebergSettings
from inventory_lake import load_catalog
from inventory_lake.duck import attach_views, connect
from lake_writer.bootstrap import build_service
from lake_writer.service import LakeWriterService
from lake_writer.settings import LakeWriterSettings

from tests.builders import later, page, resource, scope, scope_completed
from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator


def statuses(account_id: str) -> dict[str, str]:
    con = connect()
    settings = IcebergSettings()
    attach_views(con, load_catalog(settings), settings.iceberg_namespace)
    found = con.execute(
        "SELECT resource_arn, discovery_status FROM resources WHERE account_id = ?", [account_id]
    ).fetchall()
    return dict(found)


class GatedProgress:
    """Wraps a writer's store: ``progress`` (the check after the write) runs only once ``gate`` is set."""

    def __init__(self, store: Any, gate: threading.Event, arrived: threading.Event) -> None:
        self._store = store
        self._gate = gate
        self._arrived = arrived

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def progress(self, *args: Any) -> Any:
        self._arrived.set()
        assert self._gate.wait(120)
        return self._store.progress(*args)


ORDERS = ("both-write-then-both-check", "completion-checks-first", "page-checks-first")


def race(page_writer: LakeWriterService, completion_writer: LakeWriterService, order: str, account: str) -> None:
    """Scan 1 saw resources 1, 2, 3; scan 2's last page and its completion race; resource 2 is gone."""
    page_writer.apply(
        [
            page([resource(i, account_id=account) for i in (1, 2, 3)], execution_id="s1"),
            scope_completed(scope(account), execution_id="s1", pages=1, count=3),
        ]
    )
    first = page([resource(1, account_id=account, at=later(60))], execution_id="s2", page_no=1, started=later(59))
    last = page([resource(3, account_id=account, at=later(60))], execution_id="s2", page_no=2, started=later(59))
    done = scope_completed(scope(account), execution_id="s2", pages=2, count=2, started=later(59))
    page_writer.apply([first])
    gates = {name: (threading.Event(), threading.Event()) for name in ("page", "completion")}
    stores = {"page": page_writer._store, "completion": completion_writer._store}
    page_writer._store = GatedProgress(stores["page"], *gates["page"])
    completion_writer._store = GatedProgress(stores["completion"], *gates["completion"])
    results: dict[str, Any] = {}

    def run(name: str, service: LakeWriterService, events: list[Any]) -> Callable[[], None]:
        return lambda: results.__setitem__(name, service.apply(events))

    threads = {
        "page": threading.Thread(target=run("page", page_writer, [last])),
        "completion": threading.Thread(target=run("completion", completion_writer, [done])),
    }
    if order == "both-write-then-both-check":
        for t in threads.values():
            t.start()
        for _, arrived in gates.values():
            assert arrived.wait(120)  # both recorded what they carry before either checks
        for gate, _ in gates.values():
            gate.set()
    else:
        early, late = ("completion", "page") if order == "completion-checks-first" else ("page", "completion")
        gates[early][0].set()
        threads[early].start()
        threads[early].join(120)
        gates[late][0].set()
        threads[late].start()
    for t in threads.values():
        t.join(120)
    page_writer._store, completion_writer._store = stores["page"], stores["completion"]
    # THEN the scope was swept (by one or both, never by neither), with no completion sent back to the queue
    swept = {name: result.swept for name, result in results.items()}
    assert sum(swept.values()) >= 1, (order, swept)
    if order == "completion-checks-first":  # parked, then swept by the page's writer
        assert (swept, results["completion"].parked) == ({"page": 1, "completion": 0}, 1), order
    if order == "page-checks-first":  # the completion finds every page there
        assert (swept, results["completion"].parked) == ({"page": 0, "completion": 1}, 0), order
        # AND each batch's log line says where its time went: the page's rows and pages, the completion's sweep
        assert set(results["page"].seconds) == {"rows", "pages"}, results["page"].seconds
        assert set(results["completion"].seconds) == {"pages", "sweep"}, results["completion"].seconds
    # AND resource 2 is missing, 1 and 3 active
    assert statuses(account) == {
        resource(1, account_id=account).resource_arn: "active",
        resource(2, account_id=account).resource_arn: "missing",
        resource(3, account_id=account).resource_arn: "active",
    }, order


def test_parked_completion_is_swept_by_whichever_writer_sees_both(stack: Stack) -> None:
    # GIVEN two writers (two concurrent invocations); each order of their checks in an account of its own
    page_writer, completion_writer = (build_service(LakeWriterSettings()) for _ in range(2))
    accounts = unique_accounts(len(ORDERS))
    # WHEN one applies a scope's last page while the other applies its completion, checks in each order
    # THEN the scope is swept once or twice, never not at all
    for order, account in zip(ORDERS, accounts, strict=True):
        race(page_writer, completion_writer, order, account)
    # AND a completion delivered again after its sweep sweeps and parks nothing
    again = completion_writer.apply([scope_completed(scope(accounts[0]), execution_id="s1", pages=1, count=3)])
    assert (again.swept, again.parked, again.marked_missing) == (0, 0, 0)
