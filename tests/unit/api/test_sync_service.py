from __future__ import annotations

import itertools

import pytest
from inventory_api.audit import Actor, AuditService
from inventory_api.auth import Principal, Role
from inventory_api.ports import StoreError
from inventory_api.service import ConflictError, NotFoundError
from inventory_api.sync import SyncService
from inventory_core.items import SCAN_STATUS_SK, Account

from tests.fakes.api import InMemoryAuditLog, InMemoryInventoryReader, InMemoryScanRequestSender, InMemoryScanStore

PROD, DEV, OFF = "111111111111", "222222222222", "333333333333"
ACCOUNTS = [Account(PROD, "Prod", True), Account(DEV, "Dev", True), Account(OFF, "Off", False)]


def as_(user: str) -> Actor:
    return Actor(principal=Principal(user_id=user, role=Role.operator), source_ip="10.0.0.1", request_id=f"r-{user}")


class World:
    def __init__(self) -> None:
        self.scans = InMemoryScanStore()
        self.sender = InMemoryScanRequestSender()
        self.audit_log = InMemoryAuditLog()
        self.now = 1_000_000.0
        ids = itertools.count(1)
        self.service = SyncService(
            InMemoryInventoryReader.of([], ACCOUNTS),
            self.scans,
            self.sender,
            AuditService(self.audit_log),
            lock_ttl_s=3600,
            clock=lambda: self.now,
            new_id=lambda: f"exec-{next(ids)}",
        )


def test_a_sync_of_one_account_sends_one_scan_request_and_records_the_execution() -> None:
    w = World()
    outcome = w.service.trigger(PROD, as_("alice"))
    assert (outcome.execution_id, outcome.started) == ("exec-1", True)
    [event] = w.sender.sent
    assert (event.execution_id, event.account_ids, event.trigger, event.requested_by) == (
        "exec-1",
        [PROD],
        "api",
        "alice",
    )
    status = w.scans.executions["exec-1"][SCAN_STATUS_SK]
    assert (status["status"], status["requestedBy"], status["trigger"], status["accountIds"]) == (
        "in_progress",
        "alice",
        "api",
        [PROD],
    )


def test_a_sync_of_all_covers_every_enabled_account() -> None:
    w = World()
    w.service.trigger(None, as_("alice"))
    assert w.sender.sent[0].account_ids == [PROD, DEV]


def test_an_unknown_account_is_not_found_and_a_disabled_one_conflicts() -> None:
    w = World()
    with pytest.raises(NotFoundError, match="999999999999"):
        w.service.trigger("999999999999", as_("alice"))
    with pytest.raises(ConflictError, match="disabled"):
        w.service.trigger(OFF, as_("alice"))
    assert w.sender.sent == []


def test_a_second_sync_while_one_runs_returns_the_running_execution() -> None:
    w = World()
    first = w.service.trigger(PROD, as_("alice"))
    second = w.service.trigger(PROD, as_("bob"))
    assert (second.execution_id, second.started) == (first.execution_id, False)
    assert len(w.sender.sent) == 1


def test_once_the_account_finished_a_new_sync_starts() -> None:
    w = World()
    first = w.service.trigger(PROD, as_("alice"))
    w.scans.complete_account(first.execution_id, PROD)
    second = w.service.trigger(PROD, as_("alice"))
    assert second.started and second.execution_id != first.execution_id


def test_a_lock_older_than_its_ttl_no_longer_blocks() -> None:
    w = World()
    w.service.trigger(PROD, as_("alice"))
    w.now += 3601
    assert w.service.trigger(PROD, as_("alice")).started


def test_a_scan_the_scanner_is_running_counts_as_running() -> None:
    w = World()
    w.scans.scanner_locks[PROD] = {"executionId": "scheduled-7", "expiresAt": int(w.now) + 100}
    w.scans.start_execution("scheduled-7", {"status": "in_progress"})
    outcome = w.service.trigger(PROD, as_("alice"))
    assert (outcome.execution_id, outcome.started) == ("scheduled-7", False)


def test_sync_all_skips_accounts_already_running() -> None:
    w = World()
    w.service.trigger(PROD, as_("alice"))
    outcome = w.service.trigger(None, as_("alice"))
    assert outcome.started and outcome.account_ids == (DEV,)
    assert w.sender.sent[-1].account_ids == [DEV]


def test_when_the_request_cannot_be_sent_the_lock_is_released_and_the_execution_failed() -> None:
    w = World()
    w.sender.fail = True
    with pytest.raises(StoreError):
        w.service.trigger(PROD, as_("alice"))
    assert w.scans.locks == {}
    assert w.scans.executions["exec-1"][SCAN_STATUS_SK]["status"] == "failed"
    w.sender.fail = False
    assert w.service.trigger(PROD, as_("alice")).started


def test_progress_shows_each_account_as_the_projector_reports_it() -> None:
    w = World()
    w.service.trigger(None, as_("alice"))
    w.scans.complete_account("exec-1", PROD, "partial", 17)
    progress = w.service.execution("exec-1")
    assert progress.status == "in_progress"
    assert [(a.accountId, a.status, a.resourceCount) for a in progress.accounts] == [
        (PROD, "partial", 17),
        (DEV, "in_progress", None),
    ]


def test_progress_of_an_unknown_execution_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        World().service.execution("nope")
