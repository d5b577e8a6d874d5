"""Ends, as failed, a scan request that never became a scanner task.

The EventBridge Pipe on scan-requests turns each ScanRequested into a Fargate task. When it cannot (ECS
refuses RunTask, capacity, a bad network setting) the message is retried until the queue's redrive moves
it to scan-requests-dlq, and this function, on that DLQ, publishes what a scan of zero reachable accounts
would: AccountScanCompleted(failed) for each requested enabled account and a ScanCompleted whose accounts
all failed. The projector then ends the execution as failed instead of leaving it in_progress, and each
account's lastSyncStatus says failed. A request that names no account or only unknown ones ends with one
failed placeholder account ``unlaunched`` so the execution still counts as failed, not completed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from inventory_core.aws import AwsClientFactory
from inventory_core.logs import service_logger
from inventory_core.publisher import PUBLISH_RETRY, EventPublisher, SnsEventPublisher
from inventory_core.settings import TableSettings, TopicSettings
from inventory_events import AccountScanCompleted, AccountSummary, ScanCompleted, ScanRequested, parse_event, utc_now

from scanner.adapters.accounts import DynamoDbAccountDirectory
from scanner.ports import AccountDirectory

logger = logging.getLogger("scanner.launch_failed")

LAUNCH_FAILED = "the scan request could not start a scanner task (see the scan launcher's pipe logs)"
UNLAUNCHED_ACCOUNT = "unlaunched"


class LaunchFailedSettings(TableSettings, TopicSettings):
    """The registry (which accounts a request meant) and the topic the failure is published to."""


def fail_request(
    request: ScanRequested,
    accounts: AccountDirectory,
    publisher: EventPublisher,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> ScanCompleted:
    """Publish the failed end of ``request``'s execution; return its ScanCompleted."""
    now = clock()
    account_ids = [a.account_id for a in accounts.enabled_accounts(request.account_ids)]
    events: list[Any] = [
        AccountScanCompleted(
            execution_id=request.execution_id,
            account_id=account_id,
            status="failed",
            resource_count=0,
            duration_ms=0,
            scan_started_at=now,
            error=LAUNCH_FAILED,
        )
        for account_id in account_ids
    ]
    summaries = [AccountSummary(account_id=a, status="failed", resource_count=0) for a in account_ids]
    completed = ScanCompleted(
        execution_id=request.execution_id,
        scan_started_at=now,
        duration_ms=0,
        accounts=summaries or [AccountSummary(account_id=UNLAUNCHED_ACCOUNT, status="failed", resource_count=0)],
    )
    publisher.publish([*events, completed])
    logger.error(
        "scan request never started a task",
        extra={"execution_id": request.execution_id, "accounts": len(account_ids), "trigger": request.trigger},
    )
    return completed


def handle_records(event: dict[str, Any], accounts: AccountDirectory, publisher: EventPublisher) -> dict[str, Any]:
    """Each SQS record is one ScanRequested. A record that is not one is logged and dropped (no retry can
    make it a request); one whose events could not be published is reported for a retry."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            request = parse_event(record["body"])
        except ValueError as exc:
            logger.error(
                "unreadable message on scan-requests-dlq",
                extra={"message_id": record.get("messageId"), "error": str(exc)},
            )
            continue
        if not isinstance(request, ScanRequested):
            logger.error("not a ScanRequested on scan-requests-dlq", extra={"event_type": request.event_type})
            continue
        try:
            fail_request(request, accounts, publisher)
        except Exception:
            logger.exception("could not end a failed scan request", extra={"execution_id": request.execution_id})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


@cache
def _dependencies() -> tuple[AccountDirectory, EventPublisher]:
    settings = LaunchFailedSettings()  # values come from the environment
    clients = AwsClientFactory(settings.aws_region)
    return (
        DynamoDbAccountDirectory(clients.dynamodb_table(settings.app_table_name)),
        # A short budget: this Lambda has 20 s, and a record it cannot finish goes back to its queue
        # (batchItemFailures) instead of the whole batch being retried after a timeout.
        SnsEventPublisher(clients.client("sns"), settings.events_topic_arn, retry=PUBLISH_RETRY.with_(budget_s=8.0)),
    )


@cache
def _service_log() -> Logger:
    return service_logger("scan-launch-failed", "scanner")


def _handle_with_dependencies(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    accounts, publisher = _dependencies()
    return handle_records(event, accounts, publisher)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry: JSON lines with the invocation's context keys."""
    return _service_log().inject_lambda_context(_handle_with_dependencies, clear_state=True)(event, context)
