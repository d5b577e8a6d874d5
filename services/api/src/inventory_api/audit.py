"""The audit trail of sync triggers and exports: who, when, what, from where, with what outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inventory_core.timefmt import iso

from inventory_api.auth import Principal
from inventory_api.ports import AuditLog, StoreError
from inventory_api.schemas import AuditPage, AuditRecordPublic
from inventory_api.service import plain_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who asks, for the audit log: the API's caller, or the CLI's AWS identity.

    ``request_id`` is the server's own id of the request; ``client_request_id`` what the client sent as
    X-Request-Id (kept apart: a client cannot choose the id the server logs under).
    """

    principal: Principal
    source_ip: str | None = None
    request_id: str = "-"
    client_request_id: str | None = None


class AuditService:
    def __init__(self, log: AuditLog, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._log = log
        self._clock = clock

    def _entry(self, actor: Actor, action: str, parameters: Mapping[str, Any], outcome: str) -> dict[str, Any]:
        entry = {
            "time": iso(self._clock()),
            "actor": actor.principal.user_id,
            "role": actor.principal.role.name,
            "action": action,
            "parameters": dict(parameters),
            "sourceIp": actor.source_ip,
            "outcome": outcome,
            "requestId": actor.request_id,
        }
        if actor.client_request_id:
            entry["clientRequestId"] = actor.client_request_id
        return entry

    def record(self, actor: Actor, action: str, parameters: Mapping[str, Any], outcome: str) -> None:
        """Append a record of what already happened: a failed write is logged in full, not raised."""
        entry = self._entry(actor, action, parameters, outcome)
        try:
            self._log.record(entry)
        except StoreError:
            logger.exception("audit write failed", extra={"audit": entry})

    def record_before(self, actor: Actor, action: str, parameters: Mapping[str, Any], outcome: str) -> None:
        """Append a record of what is about to be handed out or started; raises StoreError when it cannot be
        written, so the caller does not do it (no audit record, no export URL, no scan)."""
        entry = self._entry(actor, action, parameters, outcome)
        try:
            self._log.record(entry)
        except StoreError:
            logger.exception("audit write failed: refused", extra={"audit": {**entry, "parameters": "(omitted)"}})
            raise

    def read(self, day: str, limit: int, actions: Sequence[str] = ()) -> AuditPage:
        return AuditPage(
            items=[
                AuditRecordPublic(
                    time=str(i["time"]),
                    actor=str(i["actor"]),
                    role=str(i.get("role", "")),
                    action=str(i["action"]),
                    parameters=plain_json(i.get("parameters") or {}),
                    sourceIp=i.get("sourceIp"),
                    outcome=str(i.get("outcome", "")),
                    requestId=i.get("requestId"),
                    clientRequestId=i.get("clientRequestId"),
                )
                for i in self._log.read(day, limit, actions)
            ]
        )
