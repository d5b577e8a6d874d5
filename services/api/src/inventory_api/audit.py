"""The audit trail of sync triggers and exports: who, when, what, from where, with what outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from inventory_core.timefmt import iso

from inventory_api.auth import Principal
from inventory_api.ports import AuditLog, StoreError
from inventory_api.schemas import AuditPage, AuditRecordPublic
from inventory_api.service import plain_json

logger = logging.getLogger(__name__)


class AuditService:
    def __init__(self, log: AuditLog, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._log = log
        self._clock = clock

    def record(
        self,
        principal: Principal,
        action: str,
        parameters: Mapping[str, Any],
        *,
        source_ip: str | None,
        outcome: str,
        request_id: str,
    ) -> None:
        """Append a record. The action already happened, so a failed write is logged in full, not raised."""
        entry = {
            "time": iso(self._clock()),
            "actor": principal.user_id,
            "role": principal.role.name,
            "action": action,
            "parameters": dict(parameters),
            "sourceIp": source_ip,
            "outcome": outcome,
            "requestId": request_id,
        }
        try:
            self._log.record(entry)
        except StoreError:
            logger.exception("audit write failed", extra={"audit": entry})

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
                )
                for i in self._log.read(day, limit, actions)
            ]
        )
