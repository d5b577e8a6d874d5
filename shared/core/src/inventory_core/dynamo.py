"""DynamoDB helpers shared by the adapters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError


def query_items(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every item of a Query, following ``LastEvaluatedKey`` page by page.

    Args:
        table: A boto3 resource-layer Table, or a low-level client (then pass ``TableName``).
        **kwargs: The Query parameters.

    Yields:
        The items, in the order DynamoDB returns them; later pages are read only as they are consumed.
    """
    params = dict(kwargs)
    while True:
        response = table.query(**params)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def condition_failed(exc: ClientError) -> bool:
    """True if a conditional write lost: the item did not meet the ConditionExpression."""
    return str(exc.response.get("Error", {}).get("Code")) == "ConditionalCheckFailedException"
