"""Lambda entry point of the lake writer: validate each record, then one commit for the batch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from inventory_events import AnyEvent, ResourcesDiscovered, ScopeCompleted, parse_event

from lake_writer.bootstrap import default_service
from lake_writer.service import LakeWriterService, UnexpectedEventError

logger = Logger(service="lake-writer")


def handle_batch(event: dict[str, Any], context: Any, service: LakeWriterService) -> PartialItemFailureResponse:
    """Records that do not parse fail alone (to the DLQ after retries); a failed commit fails the batch."""
    events: list[AnyEvent] = []

    def record_handler(record: SQSRecord) -> None:
        parsed = parse_event(record.body)
        if not isinstance(parsed, ResourcesDiscovered | ScopeCompleted):
            raise UnexpectedEventError(f"the lake writer does not consume {parsed.event_type}")
        events.append(parsed)

    processor = BatchProcessor(event_type=EventType.SQS)
    with processor(records=event["Records"], handler=record_handler, lambda_context=context):
        processor.process()
    written = service.apply(events)
    logger.info("batch committed", extra={"events": len(events), "rows": written})
    return processor.response()


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return handle_batch(event, context, default_service())
