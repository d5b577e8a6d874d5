"""Each consumer's modules write to its Powertools JSON handler, with the Lambda context, one set of keys."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

import archiver.handler
import ddb_projector.handler
import lake_writer.handler
import pytest
import scanner.__main__
from inventory_core.logs import service_logger
from inventory_events import AnyEvent
from lake_writer.service import BatchResult
from scanner.logcontext import log_keys

from tests.builders import page, resource, sqs_event

_TOUCHED = (
    "scanner",
    "ddb_projector",
    "lake_writer",
    "archiver",
    "inventory_core",
    "inventory_lake",
    "tests_pkg_a",
    "tests_pkg_b",
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The setup changes process-wide loggers: later tests (caplog on these packages) get them back as they were."""
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate) for name in _TOUCHED}
    levels = {name: logging.getLogger(name).level for name in _TOUCHED}
    yield
    for name, (handlers, propagate) in saved.items():
        named = logging.getLogger(name)
        named.handlers[:] = handlers
        named.propagate = propagate
        named.setLevel(levels[name])
    for module in (ddb_projector.handler, lake_writer.handler, archiver.handler):
        module.service_log.cache_clear()


@dataclass
class _LambdaContext:
    function_name: str = "inventory-consumer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:inventory-consumer"
    aws_request_id: str = "req-1"


class _LoggingService:
    """Logs one INFO line from a module of the consumer's package and one from inventory_core, like the real one."""

    def __init__(self, package: str) -> None:
        self._module_logger = logging.getLogger(f"{package}.service")

    def _log(self) -> None:
        self._module_logger.info("applied", extra={"execution_id": "exec-1", "rows": 3})
        logging.getLogger("inventory_core.retry").warning("retrying", extra={"operation": "PutItem"})

    def handle(self, _event: AnyEvent) -> None:
        self._log()

    def apply(self, _events: Sequence[AnyEvent]) -> BatchResult:
        self._log()
        return BatchResult(rows_written=1)


@pytest.mark.parametrize(
    ("module", "service", "package"),
    [
        (ddb_projector.handler, "ddb-projector", "ddb_projector"),
        (lake_writer.handler, "lake-writer", "lake_writer"),
        (archiver.handler, "archiver", "archiver"),
    ],
)
def test_a_module_info_line_reaches_the_consumers_json_handler_with_the_lambda_context(
    module: ModuleType, service: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "default_service", lambda: _LoggingService(package))
    handler = module.service_log().registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        response = module.lambda_handler(sqs_event(page([resource(1)]), queue=service), _LambdaContext())
    finally:
        handler.setStream(previous)
    assert response == {"batchItemFailures": []}
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    applied = next(line for line in lines if line["message"] == "applied")
    assert applied["level"] == "INFO"
    assert applied["service"] == service
    assert applied["function_name"] == "inventory-consumer"
    assert applied["function_request_id"] == "req-1"
    assert applied["execution_id"] == "exec-1"
    assert applied["rows"] == 3
    assert "executionId" not in applied
    shared = next(line for line in lines if line["message"] == "retrying")
    assert shared["service"] == service
    assert shared["operation"] == "PutItem"


def test_a_second_setup_replaces_the_first_handler_on_shared_loggers() -> None:
    first = service_logger("svc-a", "tests_pkg_a", stream=io.StringIO())
    second = service_logger("svc-b", "tests_pkg_b", stream=io.StringIO())
    handlers = logging.getLogger("inventory_core").handlers
    assert second.registered_handler in handlers
    assert first.registered_handler not in handlers
    assert logging.getLogger("tests_pkg_a").handlers == [first.registered_handler]
    assert not logging.getLogger("tests_pkg_a").propagate


def test_the_scanner_writes_each_scan_key_once_in_snake_case() -> None:
    scanner.__main__.setup_logging()
    handler = logging.getLogger("scanner").handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        with log_keys(execution_id="exec-9", account_id="111111111111", region="eu-west-1"):
            logging.getLogger("scanner.service").info("scope scanned", extra={"execution_id": "exec-9", "pages": 2})
            logging.getLogger("inventory_core.publisher").warning("retrying", extra={"operation": "PublishBatch"})
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
    scanned, retrying = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert scanned["service"] == "scanner"
    assert (scanned["execution_id"], scanned["account_id"], scanned["region"]) == (
        "exec-9",
        "111111111111",
        "eu-west-1",
    )
    assert scanned["pages"] == 2
    assert not {"executionId", "accountId", "resourceType"} & scanned.keys()
    assert retrying["execution_id"] == "exec-9"  # the shared library's line carries the scan's keys too
