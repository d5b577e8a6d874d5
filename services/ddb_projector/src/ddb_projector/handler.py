"""Lambda entry point of the projector (also driven by the local SQS poller)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from inventory_events import parse_event

from ddb_projector.bootstrap import default_service
from ddb_projector.service import ProjectorService

logger = Logger(service="ddb-projector")


def handle_batch(event: dict[str, Any], context: Any, service: ProjectorService) -> PartialItemFailureResponse:
    """Process one SQS batch with ``service``; failed records are reported, the rest are done."""

    def record_handler(record: SQSRecord) -> None:
        try:
            service.handle(parse_event(record.body))
        except Exception:
            # names the message, so `inventory dlq show` can tell why a dead letter died
            logger.exception("record failed", extra={"message_id": record.message_id})
            raise

    # A batch that fails whole is usually one early ScopeCompleted waiting for its pages: report the
    # records as failures (retried, then DLQ) instead of failing the invocation.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return handle_batch(event, context, default_service())
