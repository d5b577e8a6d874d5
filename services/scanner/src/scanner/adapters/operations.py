from __future__ import annotations

from functools import cache

import botocore.session
from botocore import xform_name
from botocore.exceptions import UnknownServiceError


@cache
def _operations(service: str) -> frozenset[str] | None:
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return None
    return frozenset(xform_name(name) for name in model.operation_names)


def operation_problem(service: str, function: str) -> str | None:
    """Why (service, function) is not a boto3 call, or None when it is (read from botocore's models, offline)."""
    operations = _operations(service)
    if operations is None:
        return f"unknown service {service!r}"
    if function not in operations:
        return f"{service} has no function {function!r}"
    return None
