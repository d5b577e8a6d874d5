"""The single table through the boto3 resource layer.

Design (README, "DynamoDB projector"): every writer of a scope's resource items (pages and the sweep)
holds a short lease on that scope. Under the lease a page is read with BatchGetItem, compared with what
is stored and written with BatchWriteItem: one conditional write per page (the lease) instead of one
conditional UpdateItem per resource, and still no two writers interleave a read and a write of one item.

What to write is decided by ``ddb_projector.rules`` (newest wins, missingSince, which sweeps are
remembered); this module only reads, holds the lease and writes. Each complete sweep records its scan start
on the scope (``SCOPE#{scope}``/``SWEEPS``), the input the rules need to keep a late page of an older scan
from reviving a resource a newer complete scan did not find.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from inventory_core.dynamo import condition_failed, query_items
from inventory_core.grid import grid_row, journal_chunks, journal_entry_items, reserve_journal_entries
from inventory_core.items import (
    ResourceItem,
    account_key,
    account_pk,
    resource_key,
    resource_sk_prefix,
    scan_account_key,
    scan_scope_key,
    scan_status_key,
    scope_lease_key,
    scope_sweeps_key,
)
from inventory_core.retry import RetryPolicy
from inventory_core.table_lock import ItemLock
from inventory_core.timefmt import iso
from inventory_events import (
    GLOBAL_REGION,
    AccountScanCompleted,
    Resource,
    ResourcesDiscovered,
    ScanCompleted,
    Scope,
    ScopeCompleted,
    parse_event,
)

from ddb_projector.ports import AccountSyncRecorded, PageApplied, ScopeMarker
from ddb_projector.rules import (
    ACTIVE,
    MISSING,
    Stored,
    account_sync_values,
    in_scope,
    is_later_scan,
    missed_by_sweep,
    missing_ttl,
    newest_per_arn,
    plan_page,
    remembered_sweeps,
    scan_outcome,
    scope_progress,
)

logger = logging.getLogger(__name__)

SCOPE_MARKER_TTL_S = 7 * 24 * 3600
BATCH_WRITE_MAX = 25
BATCH_GET_MAX = 100


class StoreError(RuntimeError):
    """The table refused a write for a reason other than a lost race."""


class ScopeBusyError(StoreError):
    """Another writer held the scope's lease for longer than we wait; the message is retried later."""


def resource_key_of(resource: Resource) -> dict[str, str]:
    """The key of a resource's item."""
    return resource_key(resource.account_id, resource.resource_type, resource.resource_arn)


def resource_item(
    resource: Resource, execution_id: str, first_discovered_at: str, missing: str | None, retention: timedelta
) -> dict[str, Any]:
    """The whole item (``inventory_core.items.ResourceItem``): active, or missing with its ttl."""
    return ResourceItem.observed(
        resource,
        execution_id=execution_id,
        first_discovered_at=first_discovered_at,
        missing_since=missing,
        ttl=missing_ttl(missing, retention) if missing else None,
    ).to_item()


def missing_attributes(since: str, retention: timedelta) -> dict[str, Any]:
    """What marking an item missing since a sweep's start sets."""
    return {"discoveryStatus": MISSING, "missingSince": since, "ttl": missing_ttl(since, retention)}


def stored_of(item: Mapping[str, Any]) -> Stored:
    """What the rules read of a resource item (as much as the read projected)."""
    missing = item.get("missingSince")
    return Stored(
        last_discovered_at=str(item["lastDiscoveredAt"]),
        first_discovered_at=str(item["firstDiscoveredAt"]),
        discovery_status=str(item.get("discoveryStatus", ACTIVE)),
        missing_since=None if missing is None else str(missing),
    )


def scope_marker_of(item: Mapping[str, Any]) -> ScopeMarker:
    """The scan's scope marker (``SCAN#{executionId}``/``SCOPE#{scope}``): pages applied, a parked completion."""
    parked = item.get("parkedCompletion")
    completion = parse_event(str(parked)) if parked else None
    if completion is not None and not isinstance(completion, ScopeCompleted):
        raise StoreError(f"the parked completion of {item.get('sk')} is a {completion.event_type}")
    return ScopeMarker(pages=len(item.get("pages") or ()), parked=completion)


class _Lease:
    def __init__(self, scope: Scope, ttl_s: float) -> None:
        self.scope = scope
        self._deadline = time.monotonic() + ttl_s / 2  # half the ttl: room for clock skew between holders

    def check(self) -> None:
        """Refuse to write once the lease may have passed to another writer."""
        if time.monotonic() > self._deadline:
            raise ScopeBusyError(f"lease on {self.scope.key} held too long; the page is retried")


class DynamoDbResourceStore:
    """The projector's writes to the single table."""

    def __init__(
        self,
        table: Any,
        *,
        retention: timedelta = timedelta(days=30),
        sweep_memory: timedelta = timedelta(days=30),
        lease_ttl_s: float = 60.0,
        lease_wait_s: float = 20.0,
        max_batch_attempts: int = 8,
        backoff_base_s: float = 0.05,
        threads: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        self._retention = retention
        self._sweep_memory = sweep_memory
        self._client = table.meta.client  # the resource layer's client: plain Python values in and out
        self._lease_ttl_s = lease_ttl_s
        self._leases = ItemLock(table, holder_attribute="holder", expires_attribute="expiresAtMs")
        self._lease_wait_s = lease_wait_s
        # unprocessed keys and items (throttling) are sent again after a jittered wait
        self._batch_retry = RetryPolicy(
            attempts=max_batch_attempts, base_s=backoff_base_s, max_s=2.0, logger=logger, sleep=sleep
        )
        # another writer holds the scope: ask again after a short jittered wait, until lease_wait_s has passed
        self._lease_retry = RetryPolicy(
            attempts=1 + int(lease_wait_s / 0.01), base_s=0.02, max_s=0.5, logger=logger, sleep=sleep
        )
        self._threads = threads
        # the account's progress item changed between the read and the write (its other scopes completing)
        self._progress_retry = RetryPolicy(attempts=10, base_s=0.02, max_s=0.5, logger=logger, sleep=sleep)

    # -- scope lease ---------------------------------------------------------------------------------

    def _try_lease(self, key: dict[str, str], holder: str) -> bool:
        """Take the scope's lease unless another writer holds an unexpired one."""
        now_ms = int(time.time() * 1000)
        try:
            attempt = self._leases.acquire(
                key,
                holder,
                now=now_ms,
                expires_at=now_ms + int(self._lease_ttl_s * 1000),
                ttl=now_ms // 1000 + int(self._lease_ttl_s) + 3600,
            )
        except ClientError as exc:
            raise StoreError(f"lease on {key['pk']} failed: {exc}") from exc
        return attempt.acquired

    @contextmanager
    def _scope_lease(self, scope: Scope) -> Iterator[_Lease]:
        key = scope_lease_key(scope.key)
        holder = uuid.uuid4().hex
        give_up = time.monotonic() + self._lease_wait_s
        for _ in self._lease_retry.rounds("scope lease", reason="another writer holds the scope", scope=scope.key):
            if self._try_lease(key, holder):
                break
            if time.monotonic() > give_up:
                raise ScopeBusyError(f"{scope.key} is being written by another consumer; retried later")
        else:
            raise ScopeBusyError(f"{scope.key} is being written by another consumer; retried later")
        lease = _Lease(scope, self._lease_ttl_s)
        try:
            yield lease
        finally:
            try:
                released = self._leases.release(key, holder)
            except ClientError as exc:
                raise StoreError(f"lease release on {scope.key} failed: {exc}") from exc
            if not released:
                logger.warning("scope lease had expired before release", extra={"scope": scope.key})

    # -- batch primitives ----------------------------------------------------------------------------

    def _batch_get(self, keys: list[dict[str, str]], projection: str) -> dict[str, dict[str, Any]]:
        """Items by sk (keys share one pk per scope); unprocessed keys are retried with backoff."""

        def get_chunk(chunk: list[dict[str, str]]) -> list[dict[str, Any]]:
            request: dict[str, Any] = {
                self._table.name: {"Keys": chunk, "ConsistentRead": True, "ProjectionExpression": projection}
            }
            found: list[dict[str, Any]] = []
            for _ in self._batch_retry.rounds("BatchGetItem", reason="unprocessed keys"):
                response = self._client.batch_get_item(RequestItems=request)
                found += response.get("Responses", {}).get(self._table.name, [])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    return found
            raise StoreError(f"batch get left {len(request[self._table.name]['Keys'])} keys unprocessed")

        chunks = [keys[i : i + BATCH_GET_MAX] for i in range(0, len(keys), BATCH_GET_MAX)]
        with ThreadPoolExecutor(max(1, min(self._threads, len(chunks)))) as pool:
            return {str(item["sk"]): item for found in pool.map(get_chunk, chunks) for item in found}

    def _batch_put(self, items: list[dict[str, Any]], lease: _Lease) -> None:
        """BatchWriteItem in chunks of 25, a few in flight; unprocessed items (throttling) retried with backoff."""

        def put_chunk(chunk: list[dict[str, Any]]) -> None:
            pending: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in chunk]
            for _ in self._batch_retry.rounds("BatchWriteItem", reason="unprocessed items"):
                lease.check()
                response = self._client.batch_write_item(RequestItems={self._table.name: pending})
                pending = response.get("UnprocessedItems", {}).get(self._table.name, [])
                if not pending:
                    return
            raise StoreError(f"batch write left {len(pending)} items unprocessed")

        chunks = [items[i : i + BATCH_WRITE_MAX] for i in range(0, len(items), BATCH_WRITE_MAX)]
        if chunks:
            with ThreadPoolExecutor(min(self._threads, len(chunks))) as pool:
                list(pool.map(put_chunk, chunks))  # list() re-raises a chunk's error

    # -- resources -----------------------------------------------------------------------------------

    def apply_page(self, event: ResourcesDiscovered) -> PageApplied:
        scope, cutoff = event.scope, iso(event.scan_started_at)
        resources = newest_per_arn(event.resources)
        with self._scope_lease(scope) as lease:
            sweeps = set(self._scope_item(scope).get("starts", set()))
            found = self._batch_get(
                [resource_key_of(r) for r in resources], "sk, resourceArn, lastDiscoveredAt, firstDiscoveredAt"
            )
            stored = {str(i["resourceArn"]): stored_of(i) for i in found.values()}
            plan = plan_page(resources, stored, sweeps)
            writes = [
                resource_item(w.resource, event.execution_id, w.first_discovered_at, w.missing_since, self._retention)
                for w in plan.writes
            ]
            new = sum(r.resource_arn not in stored for r in resources)
            # seen by this scan for the first time: lets the sweep skip its query (see mark_missing)
            fresh = sum(
                iso(r.discovered_at) >= cutoff
                and (r.resource_arn not in stored or stored[r.resource_arn].last_discovered_at < cutoff)
                for r in resources
            )
            if new:
                # counted before the write: a crash can only leave the count too high, which costs a query
                self._table.update_item(
                    Key=scope_sweeps_key(scope.key),
                    UpdateExpression="ADD itemCount :n",
                    ExpressionAttributeValues={":n": new},
                )
            self._journal(writes, lease)  # first: a crash after it leaves no write the journal lacks
            self._batch_put(writes, lease)
            by_arn = {r.resource_arn: r for r in resources}
            for lower in plan.lower_first:
                was = stored[lower.resource_arn].first_discovered_at
                self._lower_first_discovered(
                    resource_key_of(by_arn[lower.resource_arn]), was, lower.first_discovered_at
                )
            # after the write: a crash can only leave freshItems too low, which costs a query. ALL_NEW: the
            # marker as this write left it, so a completion parked before it is seen (write, then check)
            marker = self._table.update_item(
                Key=scan_scope_key(event.execution_id, scope.key),
                UpdateExpression="ADD pages :p, freshItems :fresh SET #ttl = if_not_exists(#ttl, :ttl)",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":p": {event.page},
                    ":fresh": fresh,
                    ":ttl": int(time.time()) + SCOPE_MARKER_TTL_S,
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        return PageApplied(written=len(writes), marker=scope_marker_of(marker))

    def _journal(self, items: list[dict[str, Any]], lease: _Lease) -> None:
        """Append the grid rows of these items to the grid's change journal (inventory_core.grid)."""
        chunks = journal_chunks([grid_row(item) for item in items])
        if chunks:
            last = reserve_journal_entries(self._table, len(chunks))
            self._batch_put(journal_entry_items(last, chunks, datetime.now(UTC)), lease)

    def _lower_first_discovered(self, key: dict[str, str], was: str, first: str) -> None:
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET firstDiscoveredAt = :f",
                # only the value the rules read (an item gone by ttl in between is not recreated)
                ConditionExpression="firstDiscoveredAt = :was",
                ExpressionAttributeValues={":f": first, ":was": was},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise StoreError(f"firstDiscoveredAt of {key['sk']} failed: {exc}") from exc

    def pages_applied(self, execution_id: str, scope: Scope) -> int:
        item = self._table.get_item(
            Key=scan_scope_key(execution_id, scope.key), ConsistentRead=True, ProjectionExpression="pages"
        ).get("Item")
        return len(item.get("pages", set())) if item else 0

    def park_completion(self, event: ScopeCompleted) -> ScopeMarker:
        try:
            marker = self._table.update_item(
                Key=scan_scope_key(event.execution_id, event.scope.key),
                # the marker's ttl: a completion whose pages never come expires with it
                UpdateExpression="SET parkedCompletion = :c, #ttl = if_not_exists(#ttl, :ttl)",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":c": event.model_dump_json(),
                    ":ttl": int(time.time()) + SCOPE_MARKER_TTL_S,
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            raise StoreError(f"parking the completion of {event.scope.key} failed: {exc}") from exc
        return scope_marker_of(marker)

    def _scope_item(self, scope: Scope) -> dict[str, Any]:
        item: dict[str, Any] = (
            self._table.get_item(Key=scope_sweeps_key(scope.key), ConsistentRead=True).get("Item") or {}
        )
        return item

    def _type_items(self, scope: Scope) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(account_pk(scope.account_id))
            & Key("sk").begins_with(resource_sk_prefix(scope.resource_type)),
            "ProjectionExpression": "pk, sk, accountId, resourceType, #r, lastDiscoveredAt, firstDiscoveredAt, "
            "discoveryStatus, missingSince",
            "ExpressionAttributeNames": {"#r": "region"},
            "ConsistentRead": True,
        }
        if scope.region != GLOBAL_REGION:
            # the type's items of the account's other regions stay on the server (the sort key has no region):
            # a sweep reads one region's items, not all of them (in_scope still decides)
            kwargs["FilterExpression"] = Attr("region").eq(scope.region)
        return list(query_items(self._table, **kwargs))

    def mark_missing(self, scope: Scope, scan_started_at: datetime, execution_id: str) -> int:
        cutoff = iso(scan_started_at)
        with self._scope_lease(scope) as lease:
            scope_item = self._scope_item(scope)
            self._table.update_item(
                Key=scope_sweeps_key(scope.key),
                UpdateExpression="SET starts = :starts",
                ExpressionAttributeValues={
                    ":starts": remembered_sweeps(scope_item.get("starts", set()), scan_started_at, self._sweep_memory)
                },
            )
            marker = self._table.get_item(Key=scan_scope_key(execution_id, scope.key), ConsistentRead=True).get(
                "Item", {}
            )
            if int(marker.get("freshItems", 0)) >= int(scope_item.get("itemCount", 0)):
                return 0  # every item of the scope was seen by this scan or a later one: nothing to look for
            scoped = [
                i
                for i in self._type_items(scope)
                if in_scope(scope, str(i["accountId"]), str(i["resourceType"]), str(i["region"]))
            ]
            # exact under the lease; also corrects what TTL deletions took away
            self._table.update_item(
                Key=scope_sweeps_key(scope.key),
                UpdateExpression="SET itemCount = :n",
                ExpressionAttributeValues={":n": len(scoped)},
            )
            missed = [i for i in scoped if missed_by_sweep(stored_of(i), cutoff)]
            # one conditional update each (a few in flight: at 10,000 resources a scan's churn marks hundreds
            # in one scope, one round trip after another held the lease for most of its time)
            with ThreadPoolExecutor(max(1, min(self._threads, len(missed)))) as pool:
                marked = [item for item in pool.map(lambda i: self._mark_one_missing(i, cutoff, lease), missed) if item]
            # after the writes (their new values are known only then); a crash in between is repaired by the
            # next full snapshot, which reads the table
            self._journal(marked, lease)
            return len(marked)

    def _mark_one_missing(self, item: dict[str, Any], since: str, lease: _Lease) -> dict[str, Any] | None:
        lease.check()
        values = missing_attributes(since, self._retention)
        try:
            response = self._client.update_item(  # the client: thread-safe, unlike the table object
                TableName=self._table.name,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
                # only over the sighting the rules read (an item gone by ttl in between is not recreated)
                ConditionExpression="lastDiscoveredAt = :seen",
                ExpressionAttributeNames={f"#{name}": name for name in values},
                ExpressionAttributeValues={f":{name}": v for name, v in values.items()}
                | {":seen": item["lastDiscoveredAt"]},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise StoreError(f"marking {item['sk']} missing failed: {exc}") from exc
            return None
        updated: dict[str, Any] = response["Attributes"]
        return updated

    # -- account and scan status ---------------------------------------------------------------------

    def _touch_scan(self, execution_id: str, scan_started_at: datetime) -> None:
        """Create the scan execution item if nobody did (a scheduled scan has no POST /sync)."""
        self._table.update_item(
            Key=scan_status_key(execution_id),
            UpdateExpression="SET #st = if_not_exists(#st, :running), startedAt = if_not_exists(startedAt, :started), "
            "executionId = :ex",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":running": "in_progress",
                ":started": iso(scan_started_at),
                ":ex": execution_id,
            },
        )

    def record_scope_progress(self, event: ScopeCompleted) -> None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        key = scan_account_key(event.execution_id, event.scope.account_id)
        for _ in self._progress_retry.rounds(
            "scope progress", reason="another scope was counted", scope=event.scope.key
        ):
            item = self._table.get_item(Key=key, ConsistentRead=True, ProjectionExpression="scopeKeys").get("Item")
            counted: set[str] = set((item or {}).get("scopeKeys") or ())
            progress = scope_progress(counted, event)  # the rule: each scope counts once
            if progress is None:
                return
            try:
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET accountId = :a, #st = if_not_exists(#st, :running) "
                    f"ADD scopeKeys :keys, {progress.counter} :one",
                    # only over the set the rule read (it only grows, so the same size is the same set)
                    ConditionExpression="size(scopeKeys) = :n" if counted else "attribute_not_exists(scopeKeys)",
                    ExpressionAttributeNames={"#st": "status"},
                    ExpressionAttributeValues={
                        ":a": event.scope.account_id,
                        ":running": "in_progress",
                        ":keys": {progress.scope_key},
                        ":one": 1,
                    }
                    | ({":n": len(counted)} if counted else {}),
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise StoreError(f"scope progress of {event.scope.key} failed: {exc}") from exc
                continue  # another scope of the account was counted in between: read and decide again
            return
        raise StoreError(f"scope progress of {event.scope.key}: the account's progress kept changing; retried")

    def record_account_scan(self, event: AccountScanCompleted) -> AccountSyncRecorded | None:
        self._touch_scan(event.execution_id, event.scan_started_at)
        self._table.update_item(
            Key=scan_account_key(event.execution_id, event.account_id),
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
        key = account_key(event.account_id)
        account = self._table.get_item(
            Key=key,
            ConsistentRead=True,
            ProjectionExpression="pk, lastSyncScanStartedAt, lastSuccessfulSyncResourceCount",
        ).get("Item")
        if account is None:
            return None  # only registered accounts take a sync status
        recorded = account.get("lastSyncScanStartedAt")
        if not is_later_scan(None if recorded is None else str(recorded), iso(event.scan_started_at)):
            return None  # a duplicate, or an older scan's late message: changes nothing
        values = account_sync_values(event)
        names = {f"#a{n}": name for n, name in enumerate(values)}
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET " + ", ".join(f"{alias} = :v{n}" for n, alias in enumerate(names)),
                # only over the scan the rules read: a concurrent writer makes this message retry and decide again
                ConditionExpression="lastSyncScanStartedAt = :was"
                if recorded is not None
                else "attribute_exists(pk) AND attribute_not_exists(lastSyncScanStartedAt)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{n}": v for n, v in enumerate(values.values())}
                | ({":was": recorded} if recorded is not None else {}),
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise StoreError(f"account {event.account_id} changed while its status was written; retried") from exc
            raise StoreError(f"account {event.account_id} status update failed: {exc}") from exc
        previous = account.get("lastSuccessfulSyncResourceCount")
        return AccountSyncRecorded(previous_success_count=None if previous is None else int(previous))

    def record_scan(self, event: ScanCompleted) -> None:
        failed = sum(1 for a in event.accounts if a.status == "failed")
        self._table.update_item(
            Key=scan_status_key(event.execution_id),
            UpdateExpression="SET #st = :st, completedAt = :at, startedAt = if_not_exists(startedAt, :started), "
            "durationMs = :ms, resourceCount = :n, accountCount = :accounts, accountsFailed = :failed, "
            "accountsSkipped = :skipped, "
            "executionId = :ex",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":st": scan_outcome(event),
                ":at": iso(event.occurred_at),
                ":started": iso(event.scan_started_at),
                ":ms": event.duration_ms,
                ":n": sum(a.resource_count for a in event.accounts),
                ":accounts": len(event.accounts),
                ":failed": failed,
                ":skipped": len(event.skipped),  # another scan of them was running (scanner lock)
                ":ex": event.execution_id,
            },
        )
