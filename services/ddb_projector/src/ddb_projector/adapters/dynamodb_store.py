from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from inventory_core.items import (
    ACCOUNT_SK,
    ALL_RESOURCES_GSI1PK,
    account_pk,
    region_gsi2pk,
    resource_sk,
    resource_sk_prefix,
    scan_pk,
    type_gsi3pk,
)
from inventory_core.timefmt import iso
from inventory_events import GLOBAL_REGION, AccountScanCompleted, Resource, ScanCompleted, Scope

SCOPE_MARKER_TTL_S = 7 * 24 * 3600


class StoreError(RuntimeError):
    """The table refused a write for a reason other than a lost race."""


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def resource_item_values(resource: Resource, execution_id: str) -> dict[str, Any]:
    """Attributes of a resource item other than pk/sk (TRD section 3.1)."""
    seen = iso(resource.discovered_at)
    return {
        "gsi1pk": ALL_RESOURCES_GSI1PK,
        "gsi1sk": f"{resource.resource_type}#{resource.region}#{resource.name}",
        "gsi2pk": region_gsi2pk(resource.region),
        "gsi2sk": f"{resource.resource_type}#{seen}",
        "gsi3pk": type_gsi3pk(resource.resource_type),
        "gsi3sk": f"{resource.account_id}#{resource.resource_id}",
        "resourceId": resource.resource_id,
        "resourceArn": resource.resource_arn,
        "resourceType": resource.resource_type,
        "accountId": resource.account_id,
        "name": resource.name,
        "region": resource.region,
        "state": resource.state,
        "tags": dict(resource.tags),
        "metadata": dict(resource.metadata),
        "lastDiscoveredAt": seen,
        "discoveryStatus": "active",
        "lastExecutionId": execution_id,
    }


class DynamoDbResourceStore:
    """The single table through the boto3 resource layer; writes are conditional, so replays are no-ops."""

    def __init__(self, table: Any, *, write_threads: int = 8) -> None:
        self._table = table
        self._write_threads = write_threads

    def _put_resource(self, resource: Resource, execution_id: str) -> bool:
        values = resource_item_values(resource, execution_id)
        names = {f"#a{i}": key for i, key in enumerate(values)}
        placeholders = {f":v{i}": value for i, value in enumerate(values.values())}
        sets = [f"#a{i} = :v{i}" for i in range(len(values))]
        names["#first"] = "firstDiscoveredAt"
        names["#seen"] = "lastDiscoveredAt"
        names["#ms"] = "missingSince"
        names["#ttl"] = "ttl"
        seen = f":v{list(values).index('lastDiscoveredAt')}"
        update = f"SET {', '.join(sets)}, #first = if_not_exists(#first, {seen}) REMOVE #ms, #ttl"
        try:
            self._table.update_item(
                Key={
                    "pk": account_pk(resource.account_id),
                    "sk": resource_sk(resource.resource_type, resource.resource_arn),
                },
                UpdateExpression=update,
                ConditionExpression=f"attribute_not_exists(pk) OR #seen < {seen}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False  # a newer (or this very) observation is already there
            raise StoreError(f"update of {resource.resource_arn} failed: {exc}") from exc
        return True

    def upsert_resources(self, resources: list[Resource], execution_id: str) -> int:
        if len(resources) <= 1:
            return sum(self._put_resource(r, execution_id) for r in resources)
        with ThreadPoolExecutor(min(self._write_threads, len(resources))) as pool:
            return sum(pool.map(lambda r: self._put_resource(r, execution_id), resources))

    def mark_page_applied(self, execution_id: str, scope: Scope, page: int) -> None:
        self._table.update_item(
            Key={"pk": scan_pk(execution_id), "sk": f"SCOPE#{scope.key}"},
            UpdateExpression="ADD pages :p SET #ttl = if_not_exists(#ttl, :ttl)",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":p": {page}, ":ttl": int(datetime.now().timestamp()) + SCOPE_MARKER_TTL_S},
        )

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        item = self._table.get_item(
            Key={"pk": scan_pk(execution_id), "sk": f"SCOPE#{scope.key}"}, ConsistentRead=True
        ).get("Item")
        return len(item.get("pages", set())) if item else 0

    def _scope_items(self, scope: Scope, seen_before: str) -> list[dict[str, Any]]:
        filt = Attr("discoveryStatus").eq("active") & Attr("lastDiscoveredAt").lt(seen_before)
        if scope.region != GLOBAL_REGION:
            filt = filt & Attr("region").eq(scope.region)
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(account_pk(scope.account_id))
            & Key("sk").begins_with(resource_sk_prefix(scope.resource_type)),
            "FilterExpression": filt,
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def mark_missing(self, scope: Scope, seen_before: datetime, now: datetime, expires_at: int) -> int:
        cutoff = iso(seen_before)
        marked = 0
        for key in self._scope_items(scope, cutoff):
            try:
                self._table.update_item(
                    Key={"pk": key["pk"], "sk": key["sk"]},
                    UpdateExpression="SET discoveryStatus = :missing, missingSince = :now, #ttl = :ttl",
                    ConditionExpression="discoveryStatus = :active AND lastDiscoveredAt < :cutoff",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":missing": "missing",
                        ":active": "active",
                        ":now": iso(now),
                        ":ttl": expires_at,
                        ":cutoff": cutoff,
                    },
                )
                marked += 1
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise StoreError(f"marking {key['sk']} missing failed: {exc}") from exc
        return marked

    def record_account_scan(self, event: AccountScanCompleted) -> None:
        started = iso(event.scan_started_at)
        try:
            self._table.update_item(
                Key={"pk": account_pk(event.account_id), "sk": ACCOUNT_SK},
                UpdateExpression=(
                    "SET lastSyncedAt = :at, lastSyncStatus = :st, lastSyncResourceCount = :n, "
                    "lastSyncDurationMs = :ms, lastSyncExecutionId = :ex, lastSyncScanStartedAt = :started"
                ),
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(lastSyncScanStartedAt) OR lastSyncScanStartedAt <= :started)",
                ExpressionAttributeValues={
                    ":at": iso(event.occurred_at),
                    ":st": event.status,
                    ":n": event.resource_count,
                    ":ms": event.duration_ms,
                    ":ex": event.execution_id,
                    ":started": started,
                },
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise StoreError(f"account {event.account_id} status update failed: {exc}") from exc
        self._table.update_item(
            Key={"pk": scan_pk(event.execution_id), "sk": f"ACCOUNT#{event.account_id}"},
            UpdateExpression="SET #st = :st, resourceCount = :n, durationMs = :ms, completedAt = :at, accountId = :a",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":st": event.status,
                ":n": event.resource_count,
                ":ms": event.duration_ms,
                ":at": iso(event.occurred_at),
                ":a": event.account_id,
            },
        )

    def record_scan(self, event: ScanCompleted) -> None:
        self._table.update_item(
            Key={"pk": scan_pk(event.execution_id), "sk": "STATUS"},
            UpdateExpression="SET #st = :st, completedAt = :at, startedAt = if_not_exists(startedAt, :started), "
            "durationMs = :ms, resourceCount = :n",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":st": "completed",
                ":at": iso(event.occurred_at),
                ":started": iso(event.scan_started_at),
                ":ms": event.duration_ms,
                ":n": sum(a.resource_count for a in event.accounts),
            },
        )
