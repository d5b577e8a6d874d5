"""Sync now: one scan request per click, never two scans of one account at once."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inventory_core.items import ScanStatusItem, account_id_of_item, scan_account_items, scan_status_item
from inventory_core.timefmt import iso
from inventory_events import ScanRequested

from inventory_api.audit import Actor, AuditService
from inventory_api.ports import InventoryReader, ScanRequestSender, ScanStore, StoreError
from inventory_api.schemas import ScanAccountProgress, ScanExecutionPublic
from inventory_api.service import ConflictError, NotFoundError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    execution_id: str
    started: bool
    account_ids: tuple[str, ...]


class SyncService:
    def __init__(
        self,
        reader: InventoryReader,
        scans: ScanStore,
        sender: ScanRequestSender,
        audit: AuditService,
        *,
        lock_ttl_s: int = 4 * 3600,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._reader = reader
        self._scans = scans
        self._sender = sender
        self._audit = audit
        self._lock_ttl_s = lock_ttl_s
        self._clock = clock
        self._new_id = new_id

    def trigger(self, account_id: str | None, actor: Actor) -> SyncOutcome:
        """Start a scan of one account (or of all enabled ones), audited whatever the outcome.

        A started scan is audited before its request is sent: when the record cannot be written the
        locks are released, the execution ends failed and StoreError is raised (no audit, no scan).
        """
        parameters: dict[str, Any] = {"accountId": account_id}

        def audit_start(execution_id: str, account_ids: list[str]) -> None:
            self._audit.record_before(
                actor, "sync", {**parameters, "executionId": execution_id, "accountIds": account_ids}, "started"
            )

        try:
            outcome = self._trigger(account_id, actor.principal.user_id, audit_start)
        except (NotFoundError, ConflictError) as exc:
            self._audit.record(actor, "sync", parameters, "not_found" if isinstance(exc, NotFoundError) else "conflict")
            raise
        except StoreError:
            self._audit.record(actor, "sync", parameters, "failed")
            raise
        if not outcome.started:
            self._audit.record(actor, "sync", {**parameters, "executionId": outcome.execution_id}, "already_running")
        return outcome

    def _targets(self, account_id: str | None) -> list[str]:
        accounts = {account_id_of_item(i): i for i in self._reader.account_items()}
        if account_id is not None:
            if account_id not in accounts:
                raise NotFoundError(f"account {account_id} is not registered")
            if not accounts[account_id].get("syncEnabled", False):
                raise ConflictError(f"sync is disabled for account {account_id}")
            return [account_id]
        targets = sorted(a for a, item in accounts.items() if item.get("syncEnabled", False))
        if not targets:
            raise ConflictError("no registered account has sync enabled")
        return targets

    def _finished(self, execution_id: str, account_id: str) -> bool:
        """Whether the execution holding an account's lock is over for that account."""
        items = self._scans.execution_items(execution_id)
        if not items:
            return True  # a lock without an execution: its request was never sent
        status = scan_status_item(items)
        return (status is not None and status.finished) or account_id in scan_account_items(items)

    def _lock(self, account_id: str, execution_id: str, now: int) -> str | None:
        """Take the account's lock; return None when taken, else the running executionId."""
        running = self._scans.scanner_lock(account_id, now)
        if running and running != execution_id and not self._finished(running, account_id):
            return running
        expires_at = now + self._lock_ttl_s
        holder = self._scans.acquire_sync_lock(account_id, execution_id, expires_at, now)
        if holder is None:
            return None
        if self._finished(holder, account_id) and self._scans.steal_sync_lock(
            account_id, holder, execution_id, expires_at
        ):
            return None
        return holder

    def _trigger(
        self, account_id: str | None, requested_by: str, audit_start: Callable[[str, list[str]], None]
    ) -> SyncOutcome:
        targets = self._targets(account_id)
        execution_id = self._new_id()
        now = int(self._clock())
        acquired: list[str] = []
        running: dict[str, str] = {}
        for target in targets:
            holder = self._lock(target, execution_id, now)
            if holder is None:
                acquired.append(target)
            else:
                running[target] = holder
        if not acquired:
            first = running[targets[0]]
            logger.info("sync already running", extra={"execution_id": first, "accounts": sorted(running)})
            return SyncOutcome(execution_id=first, started=False, account_ids=tuple(sorted(running)))
        started_at = iso(datetime.fromtimestamp(now, UTC))
        self._scans.start_execution(
            execution_id,
            ScanStatusItem(
                execution_id=execution_id,
                started_at=started_at,
                requested_by=requested_by,
                trigger="api",
                account_ids=tuple(acquired),
            ).attributes(),
        )
        try:
            audit_start(execution_id, acquired)
        except StoreError:
            for target in acquired:
                self._scans.release_sync_lock(target, execution_id)
            self._scans.fail_execution(execution_id, "the audit record could not be written", iso(datetime.now(UTC)))
            raise
        try:
            self._sender.send(
                ScanRequested(execution_id=execution_id, account_ids=acquired, trigger="api", requested_by=requested_by)
            )
        except StoreError:
            for target in acquired:
                self._scans.release_sync_lock(target, execution_id)
            self._scans.fail_execution(execution_id, "scan request could not be sent", iso(datetime.now(UTC)))
            raise
        logger.info(
            "sync requested",
            extra={"execution_id": execution_id, "accounts": acquired, "skipped_running": sorted(running)},
        )
        return SyncOutcome(execution_id=execution_id, started=True, account_ids=tuple(acquired))

    def execution(self, execution_id: str) -> ScanExecutionPublic:
        items = self._scans.execution_items(execution_id)
        status = scan_status_item(items)
        if status is None:
            raise NotFoundError(f"no scan execution {execution_id}")
        reported = scan_account_items(items)
        account_ids = sorted({*(status.account_ids or ()), *reported})
        pending = "in_progress" if status.status == "in_progress" else "unknown"
        return ScanExecutionPublic(
            executionId=execution_id,
            status=status.status,
            trigger=status.trigger,
            requestedBy=status.requested_by,
            startedAt=status.started_at,
            completedAt=status.completed_at,
            resourceCount=status.resource_count,
            durationMs=status.duration_ms,
            accounts=[
                ScanAccountProgress(
                    accountId=a,
                    status=(reported[a].status or pending) if a in reported else pending,
                    resourceCount=reported[a].resource_count if a in reported else None,
                    durationMs=reported[a].duration_ms if a in reported else None,
                    completedAt=reported[a].completed_at if a in reported else None,
                )
                for a in account_ids
            ],
        )
