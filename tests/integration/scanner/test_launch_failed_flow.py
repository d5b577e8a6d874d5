"""A scan request that never became a task: the DLQ function's events end the execution as failed, through
the real topic, queue and projector (the execution the API opened is never left in_progress)."""

from __future__ import annotations

import pytest
from ddb_projector.bootstrap import build_service as build_projector
from ddb_projector.handler import handle_batch
from ddb_projector.settings import ProjectorSettings
from inventory_cli.runtime import register_accounts
from inventory_core.items import Account, account_key, scan_status_key
from inventory_core.publisher import SnsEventPublisher
from inventory_core.sqs import SqsLambdaPoller, drain
from inventory_events import ScanRequested
from scanner.adapters.accounts import DynamoDbAccountDirectory
from scanner.launch_failed import handle_records

from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator


def test_an_unlaunched_request_ends_failed_in_the_table(stack: Stack) -> None:
    # GIVEN a registered account and the request the API queued for it, which the pipe could not launch
    [account] = unique_accounts(1)
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(account, account, True)])
    request = ScanRequested(execution_id=f"unlaunched-{account}", account_ids=[account], trigger="api")
    publisher = SnsEventPublisher(stack.clients.client("sns"), stack.env["EVENTS_TOPIC_ARN"])
    # WHEN the scan-requests DLQ function handles it and the projector drains its queue
    result = handle_records(
        {"Records": [{"messageId": "m1", "body": request.model_dump_json()}]},
        DynamoDbAccountDirectory(stack.table),
        publisher,
    )
    projector = build_projector(ProjectorSettings(), stack.clients)
    poller = SqsLambdaPoller(
        stack.clients.client("sqs"),
        stack.env["DDB_PROJECTOR_QUEUE_URL"],
        lambda event, context: handle_batch(event, context, projector),
        name="ddb-projector",
        retry_delay_s=0,
    )
    drain([poller], timeout_s=120)
    # THEN the execution and the account say failed
    assert result == {"batchItemFailures": []}
    status = stack.table.get_item(Key=scan_status_key(request.execution_id))["Item"]
    assert status["status"] == "failed"
    item = stack.table.get_item(Key=account_key(account))["Item"]
    assert item["lastSyncStatus"] == "failed"
    assert item["lastSyncExecutionId"] == request.execution_id
