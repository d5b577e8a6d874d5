"""The audit table's record format, for the writers outside the API (scanner triggers, CLI changes).

One item per action: ``pk=AUDIT#{yyyy-mm-dd}``, ``sk={iso time}#{uuid}``, written only if new (append-only),
with the attributes the API's ``GET /api/inventory/audit`` returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from inventory_core.timefmt import iso


def audit_item(
    *,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    parameters: Mapping[str, Any],
    outcome: str,
    source_ip: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Build one audit item.

    Args:
        at: When the action happened (UTC).
        actor: Who did it: a user id, an AWS principal ARN, or ``schedule``.
        role: The actor's role (viewer, operator, admin, or ``system``).
        action: What was done, e.g. ``sync``, ``account.add``, ``dlq.redrive``.
        parameters: What it was done with; never secrets.
        outcome: ``success``, ``started``, ``failed`` ...
        source_ip: The caller's address, when known.
        request_id: The request or execution id that ties it to logs.

    Returns:
        The item, keys included.
    """
    time = iso(at)
    return {
        "pk": f"AUDIT#{time[:10]}",
        "sk": f"{time}#{uuid.uuid4().hex}",
        "time": time,
        "actor": actor,
        "role": role,
        "action": action,
        "parameters": dict(parameters),
        "sourceIp": source_ip,
        "outcome": outcome,
        "requestId": request_id,
    }


def put_audit_item(table: Any, item: Mapping[str, Any]) -> None:
    """Append the item to the audit table (a boto3 resource-layer Table); never overwrites."""
    table.put_item(Item=dict(item), ConditionExpression="attribute_not_exists(pk)")
