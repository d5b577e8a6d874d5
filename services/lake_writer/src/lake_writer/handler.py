"""Lambda entry point of the lake writer: validate each record, then one commit for the batch."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from inventory_core.logs import service_logger
from inventory_core.memory import trimmed_after
from inventory_events import AnyEvent, ResourcesDiscovered, ScopeCompleted, parse_event

from lake_writer.bootstrap import default_service
from lake_writer.service import LakeWriterService, UnexpectedEventError

logger = logging.getLogger(__name__)


@cache
def service_log() -> Logger:
    """The JSON logger this function's modules write to (built on first call, not at import)."""
    return service_logger("lake-writer", "lake_writer")


@trimmed_after  # a long-lived environment's RSS follows its batches (inventory_core.memory)
def handle_batch(event: dict[str, Any], context: Any, service: LakeWriterService) -> PartialItemFailureResponse:
    """Records that do not parse fail alone (to the DLQ after retries); a failed commit fails the batch."""
    events: list[AnyEvent] = []
    message_ids: dict[str, str] = {}

    def record_handler(record: SQSRecord) -> None:
        try:
            parsed = parse_event(record.body)
            if not isinstance(parsed, ResourcesDiscovered | ScopeCompleted):
                raise UnexpectedEventError(f"the lake writer does not consume {parsed.event_type}")
        except Exception:
            # names the message, so `inventory dlq show` can tell why a dead letter died
            logger.exception("record failed", extra={"message_id": record.message_id})
            raise
        events.append(parsed)
        message_ids[str(parsed.event_id)] = record.message_id

    processor = BatchProcessor(event_type=EventType.SQS)
    with processor(records=event["Records"], handler=record_handler, lambda_context=context):
        processor.process()
    try:
        result = service.apply(events)
    except Exception:
        logger.exception("batch commit failed", extra={"message_ids": sorted(message_ids.values())})
        raise
    logger.info(
        "batch committed",
        extra={
            "events": len(events),
            "rows": result.rows_written,
            "missing": result.marked_missing,
            "swept_scopes": result.swept,
            "parked_scopes": result.parked,
            "seconds": result.seconds,
        },
    )
    return processor.response()


def _handle_with_default_service(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return handle_batch(event, context, default_service())


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """The Lambda entry: the invocation's context keys on every line its modules log."""
    return service_log().inject_lambda_context(_handle_with_default_service, clear_state=True)(event, context)
