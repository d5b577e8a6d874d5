"""Every scan trigger is audited and listed in the scan history; an account's own regions bound its scan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from inventory_api.adapters.dynamodb_audit import DynamoDbAuditLog
from inventory_api.adapters.dynamodb_scan_history import DynamoDbScanHistory
from inventory_core.items import Account
from inventory_events import AnyEvent, ScanRequested, ScopeCompleted
from scanner.bootstrap import build_service
from scanner.settings import ScannerSettings

from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator


class Recorder:
    def __init__(self) -> None:
        self.events: list[AnyEvent] = []

    def publish(self, events: Sequence[AnyEvent]) -> None:
        self.events.extend(events)


@pytest.mark.parametrize("trigger", ["schedule", "cli"])
def test_a_scheduled_or_cli_scan_is_audited_listed_and_scans_only_the_accounts_regions(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, trigger: str
) -> None:
    # GIVEN an enabled account that names one region, and a scanner that knows the audit table
    (account,) = unique_accounts(1)
    stack.table.put_item(Item=Account(account, "Regional", True, regions=("eu-west-1",)).to_item())
    monkeypatch.setenv("SCAN_TYPES", "vpc")
    monkeypatch.setenv("INVENTORY_REGIONS", "us-east-1,us-west-2")
    monkeypatch.setenv("SHARD_PROCESSES", "0")
    recorder = Recorder()
    service = build_service(ScannerSettings(), stack.clients, publisher=recorder)

    # WHEN the schedule (or the CLI) starts a scan
    who = "schedule" if trigger == "schedule" else "arn:aws:iam::123456789012:user/ops"
    service.scan(ScanRequested(execution_id=f"exec-{trigger}", account_ids=None, trigger=trigger, requested_by=who))

    # THEN the audit log has the trigger, with who asked and what
    audit = DynamoDbAuditLog(stack.clients.dynamodb_table(stack.env["AUDIT_TABLE_NAME"]))
    records = [r for r in audit.read(datetime.now(UTC).date().isoformat(), 100) if r["action"] == "sync"]
    assert [(r["actor"], r["outcome"], r["parameters"]["trigger"]) for r in records] == [(who, "started", trigger)]
    assert records[0]["parameters"]["accountIds"] == [account]
    # AND the scan history lists it
    items, _ = DynamoDbScanHistory(stack.table).page(10, None)
    assert [(i["executionId"], i["trigger"]) for i in items] == [(f"exec-{trigger}", trigger)]
    # AND only the account's own region was scanned
    scopes = {e.scope.region for e in recorder.events if isinstance(e, ScopeCompleted)}
    assert scopes == {"eu-west-1"}
