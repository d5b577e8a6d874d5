"""Lambda entry point of the projector (also driven by the local SQS poller)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from inventory_core.logs import service_logger
from inventory_core.memory import trimmed_after
from inventory_events import parse_event

from ddb_projector.bootstrap import default_service
from ddb_projector.service import ProjectorService

logger = logging.getLogger(__name__)


@cache
def service_log() -> Logger:
    """The JSON logger this function's modules write to (built on first call, not at import)."""
    return service_logger("ddb-projector", "ddb_projector")


@trimmed_after  # a long-lived environment's RSS follows its batches (inventory_core.memory)
def handle_batch(event: dict[str, Any], context: Any, service: ProjectorService) -> PartialItemFailureResponse:
    """Process one SQS batch with ``service``; failed records are reported, the rest are done."""

    def record_handler(record: SQSRecord) -> None:
        try:
            service.handle(parse_event(record.body))
        except Exception:
            # names the message, so `inventory dlq show` can tell why a dead letter died
            logger.exception("record failed", extra={"message_id": record.message_id})
            raise

    # A batch that fails whole (e.g. the table throttling every record) reports the records as failures
    # (retried, then DLQ) instead of failing the invocation.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def _handle_with_default_service(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return handle_batch(event, context, default_service())


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """The Lambda entry: the invocation's context keys on every line its modules log."""
    return service_log().inject_lambda_context(_handle_with_default_service, clear_state=True)(event, context)
