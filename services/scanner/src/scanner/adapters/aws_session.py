from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
import jmespath  # type: ignore[import-untyped]
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.paginate import TokenEncoder
from botocore.session import get_session
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.retry import THROTTLE_CODES, RetryPolicy, error_code, is_throttling
from inventory_events import GLOBAL_REGION

from scanner.catalog import PARENT_KEY, STRING_KEY, InvalidResourceError, ResourceSpec, ScopeContext, dig
from scanner.catalog import spec_by_cfn_type as _spec_by_cfn_type
from scanner.catalog import tag_map as _tag_map
from scanner.ports import AssumeRoleError, CallStats

logger = logging.getLogger(__name__)

ROLE_PATTERN = "NucleusAccess-*"
#: A session-level botocore event hook: (event name, handler).
SessionHook = tuple[str, Callable[..., Any]]

_ECS_DESCRIBE_BATCH = 10
#: GetResources answers at most 100 resources a page.
_TAGGING_PAGE = 100
_ECS_CLUSTER_BATCH = 100


def role_arn_for(account: Account, default_role_name: str) -> str:
    """The role to assume; names outside NucleusAccess-* are refused (least privilege, TRD section 7)."""
    arn = account.role_arn or f"arn:aws:iam::{account.account_id}:role/{account.role_name or default_role_name}"
    role_name = arn.rsplit("/", 1)[-1]
    if not fnmatch.fnmatchcase(role_name, ROLE_PATTERN):
        raise AssumeRoleError(f"role {role_name!r} of account {account.account_id} is outside {ROLE_PATTERN}")
    if arn.split(":")[4] != account.account_id:
        raise AssumeRoleError(f"role {arn} is not in account {account.account_id}")
    return arn


class BotocoreCallMeter:
    """Counts API calls, throttled answers and retries of every session it is attached to (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._throttles = 0
        self._backoffs = 0

    def attach(self, botocore_session: Any) -> None:
        botocore_session.register("before-send", self._on_send)
        botocore_session.register("needs-retry", self._on_needs_retry)

    def _on_send(self, **_: Any) -> None:
        with self._lock:
            self._calls += 1

    def _on_needs_retry(self, response: Any = None, **_: Any) -> None:
        if response and isinstance(response, tuple) and len(response) == 2:
            code = str((response[1] or {}).get("Error", {}).get("Code", ""))
            if code in THROTTLE_CODES:
                with self._lock:
                    self._throttles += 1

    def backoff(self) -> None:
        """Count one of our own backoffs (after botocore's retries were used up)."""
        with self._lock:
            self._backoffs += 1
            self._throttles += 1

    def snapshot(self) -> CallStats:
        with self._lock:
            return CallStats(api_calls=self._calls, throttles=self._throttles, backoffs=self._backoffs)


def throttle_retry(base_s: float = 1.0) -> RetryPolicy:
    """Our own retry on throttling, on top of botocore's (4 more tries, full jitter up to 20 s)."""
    return RetryPolicy(attempts=5, base_s=base_s, max_s=20.0, retry_on=is_throttling, logger=logger)


class StsSessionProvider:
    """Assumes the NucleusAccess role of each account with credentials that refresh before they expire."""

    def __init__(
        self,
        clients: AwsClientFactory,
        default_role_name: str,
        *,
        duration_s: int = 3600,
        target_clients: AwsClientFactory | None = None,
        meter: BotocoreCallMeter | None = None,
        hooks: Sequence[SessionHook] = (),
        retry: RetryPolicy | None = None,
    ) -> None:
        self._clients = clients
        self._target_clients = target_clients or clients
        self._default_role_name = default_role_name
        self._duration_s = duration_s
        self._meter = meter or BotocoreCallMeter()
        self._hooks = tuple(hooks)
        self._retry = retry or throttle_retry()
        # One botocore session per account would parse every service model again (tens of MB each for EC2):
        # all sessions share one loader, so models are read once per process.
        self._loader = get_session().get_component("data_loader")

    @property
    def meter(self) -> BotocoreCallMeter:
        return self._meter

    def open(self, account: Account, execution_id: str) -> AwsAccountSession:
        role_arn = role_arn_for(account, self._default_role_name)
        sts = self._clients.client("sts")
        kwargs: dict[str, Any] = {
            "RoleArn": role_arn,
            # The session name shows up in the target account's CloudTrail: it ties each call to the scan.
            "RoleSessionName": f"inventory-{execution_id}"[:64],
            "DurationSeconds": self._duration_s,
        }
        if account.external_id:
            kwargs["ExternalId"] = account.external_id

        def fetch() -> dict[str, str]:
            try:
                creds = sts.assume_role(**kwargs)["Credentials"]
            except (ClientError, BotoCoreError) as exc:
                raise AssumeRoleError(f"AssumeRole {role_arn} failed: {exc}") from exc
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        # botocore refreshes these 15 minutes before they expire, so scans longer than the role's hour go on.
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        botocore_session = get_session()
        botocore_session.register_component("data_loader", self._loader)
        # botocore has no public setter for refreshable credentials; this is the widely used way in.
        botocore_session._credentials = credentials  # type: ignore[attr-defined]
        self._meter.attach(botocore_session)
        for event, handler in self._hooks:
            botocore_session.register(event, handler)
        session = boto3.Session(botocore_session=botocore_session, region_name=self._target_clients.region)
        return AwsAccountSession(
            account.account_id, self._target_clients.for_session(session), meter=self._meter, retry=self._retry
        )


class AwsAccountSession:
    """Lists one catalogue type in one region of a target account, with the assumed role's clients."""

    def __init__(
        self,
        account_id: str,
        clients: AwsClientFactory,
        *,
        meter: BotocoreCallMeter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.account_id = account_id
        self._clients = clients
        self._meter = meter or BotocoreCallMeter()
        # Each retry is one of our own backoffs (after botocore's retries were used up) in the call stats.
        self._retry = (retry or throttle_retry()).with_(on_retry=lambda _error: self._meter.backoff())
        self._tags: dict[str, dict[str, dict[str, str]]] = {}
        self._tags_lock = threading.Lock()
        self._region_tag_locks: dict[str, threading.Lock] = {}

    def enabled_regions(self) -> list[str]:
        """Regions enabled in the account (opted-in or not requiring opt-in)."""
        answer = self._call(self._clients.client("ec2"), "describe_regions", {"AllRegions": False})
        return sorted(r["RegionName"] for r in answer.get("Regions", []))

    def pages(self, spec: ResourceSpec, region: str) -> Iterator[list[dict[str, Any]]]:
        # Global services are served from the home region (IAM, CloudFront and Route 53 answer in us-east-1).
        client = self._clients.client(spec.service, None if spec.is_global else region)
        if spec.lister == "ecs_services":
            yield from self._ecs_services(client)
            return
        params = dict(spec.parameters)
        if spec.account_param:
            params[spec.account_param] = self.account_id
        if spec.parent and spec.parent_param:
            for value in self._parent_values(spec, region):
                try:
                    for rows in self._listing(spec, client, region, {**params, spec.parent_param: value}):
                        for row in rows:  # the rows are this listing's own copies: marked in place, not copied again
                            row[PARENT_KEY] = value
                        yield rows
                except ClientError as exc:
                    if not _gone(exc):
                        raise
                    # the parent went away between its listing and ours: it has no children to report
            return
        yield from self._listing(spec, client, region, params)

    def _listing(
        self, spec: ResourceSpec, client: Any, region: str, params: dict[str, Any]
    ) -> Iterator[list[dict[str, Any]]]:
        detach = _result_detachable(client, spec)
        for raw in self._raw_pages(client, spec.function, params, spec.page_size):
            rows = _rows(spec, raw, detach=detach)
            del raw  # botocore's paginator still holds the answer while we list; with detach, without its items
            page = self._enrich(spec, client, region, rows)
            del rows
            yield page

    def _parent_values(self, spec: ResourceSpec, region: str) -> Iterator[str]:
        """The value each parent item gives the child listing's parameter (its id, name or ARN)."""
        parent = _spec_by_cfn_type(str(spec.parent))
        ctx = ScopeContext(account_id=self.account_id, region=region, discovered_at=datetime.now(UTC))
        for page in self.pages(parent, region):
            for item in page:
                try:
                    resource = parent.normalize(item, ctx)
                except (InvalidResourceError, ValueError):
                    continue
                if spec.parent_field == "arn":
                    yield resource.resource_arn
                elif spec.parent_field == "name" and resource.resource_id.startswith("arn:"):
                    yield resource.name
                else:
                    yield resource.resource_id

    def resource_tags(self, region: str, services: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
        """Tags of the resources the Resource Groups Tagging API knows in ``region``, by ARN (fetched once).

        ``services`` (ARN service namespaces) become its ResourceTypeFilters: a scan of four tagged types
        does not page through every tagged subnet, volume and instance of the region.
        """
        key = region if services is None else f"{region}?{','.join(services)}"
        with self._tags_lock:
            lock = self._region_tag_locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._tags.get(key)
            if cached is not None:
                return cached
            client = self._clients.client("resourcegroupstaggingapi", None if region == GLOBAL_REGION else region)
            found: dict[str, dict[str, str]] = {}
            params: dict[str, Any] = {"ResourcesPerPage": _TAGGING_PAGE}
            if services:
                params["ResourceTypeFilters"] = list(services)
            # The map lives as long as the account's scan (12 of 7,800 ARNs each were alive at once at 100,000
            # resources). Each answer brings its own copy of every tag key and value: one copy of each string.
            strings: dict[str, str] = {}
            for page in self._raw_pages(client, "get_resources", params, None):
                for mapping in page.get("ResourceTagMappingList", []):
                    if mapping.get("ResourceARN"):
                        found[str(mapping["ResourceARN"])] = {
                            strings.setdefault(k, k): strings.setdefault(v, v)
                            for k, v in _tag_map(mapping.get("Tags")).items()
                        }
            self._tags[key] = found
            return found

    def _raw_pages(
        self, client: Any, function: str, params: dict[str, Any], page_size: int | None
    ) -> Iterator[dict[str, Any]]:
        """Paginate, and when a page still fails with throttling after botocore's retries, back off and resume."""
        if not client.can_paginate(function):
            yield self._call(client, function, params)
            return
        paginator = client.get_paginator(function)
        token: Any = None
        attempt = 0
        while True:
            config: dict[str, Any] = {"PageSize": page_size} if page_size else {}
            if token is not None:
                config["StartingToken"] = token
            page_iterator = paginator.paginate(**params, PaginationConfig=config)
            try:
                for page in page_iterator:
                    yield page
                    attempt = 0
                    token = _next_token(paginator, page)
                return
            except ClientError as exc:
                if not self._retry.should_retry(exc, attempt):
                    raise
                self._retry.pause(attempt, operation=function, error=exc, account_id=self.account_id)
                attempt += 1

    def _call(self, client: Any, function: str, params: dict[str, Any]) -> Any:
        return self._retry.call(
            lambda: getattr(client, function)(**params), operation=function, account_id=self.account_id
        )

    def _enrich(self, spec: ResourceSpec, client: Any, region: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        match spec.enricher:
            case "s3_buckets":
                return [self._bucket_region(client, row) for row in rows]
            case "dynamodb_tables":
                return [self._table(region, row) for row in rows]
            case "ecs_clusters":
                return self._describe_clusters(client, [str(row["Id"]) for row in rows if row.get("Id")])
            case "iam_role_tags":
                # GetResources does not cover IAM roles and users: their tags cost one call each.
                return [self._iam_tags(client, "list_role_tags", "RoleName", row) for row in rows]
            case "iam_user_tags":
                return [self._iam_tags(client, "list_user_tags", "UserName", row) for row in rows]
            case _:
                return rows

    def _bucket_region(self, s3: Any, item: dict[str, Any]) -> dict[str, Any]:
        name = item.get("Name")
        if name and not item.get("BucketRegion"):
            location = self._call(s3, "get_bucket_location", {"Bucket": name}).get("LocationConstraint")
            # us-east-1 answers None; the legacy "EU" constraint means eu-west-1.
            item["BucketRegion"] = {"EU": "eu-west-1", None: "us-east-1", "": "us-east-1"}.get(location, location)
        return item

    def _table(self, region: str, item: dict[str, Any]) -> dict[str, Any]:
        name = str(item.pop(STRING_KEY, item.get("TableName", "")))
        return {**item, "TableName": name, "TableArn": f"arn:aws:dynamodb:{region}:{self.account_id}:table/{name}"}

    def _iam_tags(self, iam: Any, function: str, key: str, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("Tags") or not item.get(key):
            return item
        tags: list[Any] = []
        params: dict[str, Any] = {key: item[key]}
        while True:
            answer = self._call(iam, function, params)
            tags += answer.get("Tags", [])
            if not answer.get("IsTruncated"):
                break
            params["Marker"] = answer["Marker"]
        return {**item, "Tags": tags}

    def _describe_clusters(self, ecs: Any, arns: list[str]) -> list[dict[str, Any]]:
        clusters: list[dict[str, Any]] = []
        for start in range(0, len(arns), _ECS_CLUSTER_BATCH):
            answer = self._call(
                ecs, "describe_clusters", {"clusters": arns[start : start + _ECS_CLUSTER_BATCH], "include": ["TAGS"]}
            )
            clusters += answer.get("clusters", [])
        return clusters

    def _ecs_services(self, ecs: Any) -> Iterator[list[dict[str, Any]]]:
        """The TRD sheet (list_services) finds nothing without a cluster: walk every cluster, describe each page."""
        for cluster_page in self._raw_pages(ecs, "list_clusters", {}, 100):
            for cluster in cluster_page.get("clusterArns", []):
                for page in self._raw_pages(ecs, "list_services", {"cluster": cluster}, 100):
                    arns = page.get("serviceArns", [])
                    described: list[dict[str, Any]] = []
                    for start in range(0, len(arns), _ECS_DESCRIBE_BATCH):
                        answer = self._call(
                            ecs,
                            "describe_services",
                            {
                                "cluster": cluster,
                                "services": arns[start : start + _ECS_DESCRIBE_BATCH],
                                "include": ["TAGS"],
                            },
                        )
                        described += answer.get("services", [])
                    if described:
                        yield described


def _gone(exc: ClientError) -> bool:
    code = error_code(exc)
    return code.startswith("NoSuch") or code.endswith(("NotFound", "NotFoundException", "NotFoundFault"))


def _result_detachable(client: Any, spec: ResourceSpec) -> bool:
    """Whether a page's item list may be taken out of botocore's answer once its rows are made.

    The paginators (botocore's and ours) hold each answer while the scan works through its rows, and read only its
    token keys afterwards, unless a token is computed from the items themselves (``Contents[-1].Key``).
    """
    if not client.can_paginate(spec.function):
        return True
    config = client.get_paginator(spec.function)._pagination_cfg  # botocore has no public accessor
    leaf = spec.result_key.rpartition(".")[2]
    read_after = f"{config.get('output_token')} {config.get('more_results')}"
    return leaf not in read_after


def _rows(spec: ResourceSpec, answer: dict[str, Any], *, detach: bool) -> list[dict[str, Any]]:
    """A page's items as rows (shallow copies); ``detach`` takes the item list out of the answer.

    Detached, a listing page of 1,119 EC2 instances is held once, by its rows, which the scan consumes one by one,
    instead of also by the answer botocore's paginator keeps until the next page.
    """
    path, _, leaf = spec.result_key.rpartition(".")
    container = dig(answer, path) if path else answer
    if not isinstance(container, dict):
        return []
    items = (container.pop(leaf, None) if detach else container.get(leaf)) or []
    if spec.flatten:
        items = [child for parent in items for child in parent.get(spec.flatten, [])]
    return [dict(item) if isinstance(item, dict) else {STRING_KEY: item} for item in items]


def _next_token(paginator: Any, page: dict[str, Any]) -> str | None:
    """The resume token after ``page`` (None on the last page), in the form PaginationConfig StartingToken takes."""
    config = paginator._pagination_cfg  # botocore has no public accessor for the token names
    inputs = config["input_token"] if isinstance(config["input_token"], list) else [config["input_token"]]
    outputs = config["output_token"] if isinstance(config["output_token"], list) else [config["output_token"]]
    token = {str(name): jmespath.search(str(expr), page) for name, expr in zip(inputs, outputs, strict=True)}
    if all(value is None for value in token.values()):
        return None
    return str(TokenEncoder().encode({k: v for k, v in token.items() if v is not None}))
