"""The one lock implementation of the single table: a lock is one item, taken by a conditional put.

Three locks share the table, each at its own key (``inventory_core.items``): the scanner's account lock
(``LOCK#ACCOUNT#{id}``/``SCAN``, held while a scan of the account runs, renewed by acquiring it again),
the API's sync lock (``ACCOUNT#{id}``/``SYNC#RUNNING``, one POST /sync per account at a time) and the
projector's scope lease (``SCOPE#{scope}``/``LEASE``, held while a page or a sweep of the scope is
written). They have the same semantics, so they share this code: the put succeeds when the item is
absent, expired, or (re-entrant locks) already the caller's; a release is a delete conditional on the
holder, so a holder whose lock expired and was taken over never deletes its successor's. ``ttl`` lets
DynamoDB delete a lock its holder died with. Each lock keeps the attribute names it has always stored
(``holder_attribute``, ``expires_attribute``), so locks held across a deploy keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from inventory_core.dynamo import condition_failed


@dataclass(frozen=True)
class LockAttempt:
    """The outcome of one acquire.

    ``item`` is, when acquired, the lock item the put replaced (an expired holder's, our own on a renewal,
    or None when the lock was free); when refused, the current holder's item (None if it was released
    between the put and the read).
    """

    acquired: bool
    item: dict[str, Any] | None = None


class ItemLock:
    """Conditional-put locks at any key of one table."""

    def __init__(self, table: Any, *, holder_attribute: str = "executionId", expires_attribute: str = "expiresAt"):
        self._table = table
        self._holder = holder_attribute
        self._expires = expires_attribute

    def acquire(
        self,
        key: Mapping[str, str],
        holder: str,
        *,
        now: int,
        expires_at: int,
        reentrant: bool = False,
        ttl: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> LockAttempt:
        """Take the lock at ``key`` for ``holder`` until ``expires_at`` (in the unit of ``now``).

        Args:
            key: The lock item's key.
            holder: Who holds it (an execution id, a random token).
            now: The current time, in the unit the lock's expiry is stored in.
            expires_at: When the lock is free again unless renewed.
            reentrant: Whether the holder may take it again (a renewal).
            ttl: The item's DynamoDB TTL (epoch seconds); ``expires_at`` by default.
            attributes: More attributes to store on the lock item.

        Returns:
            Whether it was taken, and the replaced or the holding item.
        """
        names = {"#e": self._expires}
        values: dict[str, Any] = {":now": now}
        condition = "attribute_not_exists(pk) OR #e < :now"
        if reentrant:
            names["#h"] = self._holder
            values[":me"] = holder
            condition += " OR #h = :me"
        item = {
            **(attributes or {}),
            **key,
            self._holder: holder,
            self._expires: expires_at,
            "ttl": expires_at if ttl is None else ttl,
        }
        try:
            answer = self._table.put_item(
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return LockAttempt(acquired=False, item=self.holding(key))
        return LockAttempt(acquired=True, item=answer.get("Attributes") or None)

    def take_over(self, key: Mapping[str, str], stale_holder: str, holder: str, *, expires_at: int) -> bool:
        """Take the lock from ``stale_holder`` (known to be done) whether or not it expired; False if it moved on."""
        return self._if_condition_holds(
            self._table.put_item,
            Item={**key, self._holder: holder, self._expires: expires_at, "ttl": expires_at},
            ConditionExpression="attribute_not_exists(pk) OR #h = :stale",
            ExpressionAttributeNames={"#h": self._holder},
            ExpressionAttributeValues={":stale": stale_holder},
        )

    def release(self, key: Mapping[str, str], holder: str) -> bool:
        """Delete the lock if ``holder`` still holds it; False if it had passed to another (or was gone)."""
        return self._if_condition_holds(
            self._table.delete_item,
            Key=dict(key),
            ConditionExpression="#h = :me",
            ExpressionAttributeNames={"#h": self._holder},
            ExpressionAttributeValues={":me": holder},
        )

    @staticmethod
    def _if_condition_holds(write: Callable[..., Any], **request: Any) -> bool:
        """Make a conditional write; False when its condition failed, any other error raised."""
        try:
            write(**request)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def holding(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        """The lock item at ``key`` (expired or not), None if there is none."""
        item: dict[str, Any] | None = self._table.get_item(Key=dict(key), ConsistentRead=consistent).get("Item")
        return item

    def holder_of(self, item: Mapping[str, Any] | None, *, now: int) -> str | None:
        """Who holds a lock item read with ``holding``, None when it is free or expired at ``now``."""
        if not item or not item.get(self._holder) or int(item.get(self._expires, 0)) < now:
            return None
        return str(item[self._holder])
