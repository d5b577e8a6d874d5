"""One logging setup for every service: Powertools JSON lines that the modules' own loggers write to.

Modules log with ``logging.getLogger(__name__)`` and structured ``extra`` keys (snake_case, once). A service's
entry point calls :func:`service_logger` once (on first call, never at import): the Powertools Logger it
returns owns the JSON handler, and that handler also serves the service's package loggers and the shared
libraries' (``inventory_core``, ``inventory_lake``), so their lines carry the Lambda context keys that
``inject_lambda_context`` appends, instead of reaching the runtime's plain root handler or nothing.
"""

from __future__ import annotations

import logging
from typing import IO

from aws_lambda_powertools import Logger

#: Libraries of this repository whose module loggers every service's handler serves.
SHARED_PACKAGES = ("inventory_core", "inventory_lake")
_SERVES = "_inventory_serves"


def service_logger(
    service: str, package: str, *, level: str | int | None = None, stream: IO[str] | None = None
) -> Logger:
    """The Powertools Logger of ``service``, whose JSON handler the loggers of ``package`` write to.

    Args:
        service: The ``service`` key of every line (e.g. ``ddb-projector``).
        package: The service's import package (e.g. ``ddb_projector``): its module loggers are served.
        level: Log level; by default Powertools reads ``POWERTOOLS_LOG_LEVEL``/``LOG_LEVEL`` (INFO if unset).
        stream: Where lines go (stdout by default; tests pass a buffer).

    Returns:
        The Logger; decorate the Lambda handler with its ``inject_lambda_context``.
    """
    powertools = Logger(service=service, level=level, stream=stream)
    handler = powertools.registered_handler
    setattr(handler, _SERVES, True)
    for name in (package, *SHARED_PACKAGES):
        if name == powertools.name:
            continue  # Powertools named its own logger after the package: its modules are children already
        module_logger = logging.getLogger(name)
        for old in [h for h in module_logger.handlers if getattr(h, _SERVES, False)]:
            module_logger.removeHandler(old)  # a later setup in one process (tests, local runs) replaces it
        module_logger.addHandler(handler)
        module_logger.setLevel(powertools.log_level)
        # The Lambda runtime's root handler would print each line again as plain text.
        module_logger.propagate = False
    return powertools
