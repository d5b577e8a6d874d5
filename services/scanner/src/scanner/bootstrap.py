"""Composition root of the scanner: the only place that builds real adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path

from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.publisher import EventPublisher, SnsEventPublisher

from scanner.adapters.accounts import DynamoDbAccountDirectory
from scanner.adapters.aws_session import SessionHook, StsSessionProvider, throttle_retry
from scanner.adapters.dynamodb_lock import DynamoDbScanLedger, DynamoDbScanLock
from scanner.adapters.emf_metrics import EmfScanMetrics
from scanner.adapters.operations import operation_problem
from scanner.adapters.organizations import DynamoDbAccountImporter, organization_accounts
from scanner.adapters.query_body import encode_bodies_once
from scanner.adapters.s3_claims import S3ClaimStore
from scanner.adapters.shards import DynamoDbShardCoordinator, EcsShardLauncher, ProcessShardLauncher
from scanner.catalog import ResourceSpec, select_specs
from scanner.config import config_yaml, generate_config, parse_config, scan_plan
from scanner.ports import ShardLauncher
from scanner.service import ScanOptions, ScanService
from scanner.settings import ScannerSettings


def plan(settings: ScannerSettings) -> tuple[list[str], tuple[ResourceSpec, ...]]:
    """Regions and types to scan: the INVENTORY_CONFIG YAML if given, else INVENTORY_REGIONS and SCAN_TYPES."""
    if settings.inventory_config:
        text = Path(settings.inventory_config).read_text(encoding="utf-8")
        return scan_plan(parse_config(text, operation_exists=operation_problem))
    return list(settings.inventory_regions), select_specs(settings.scan_types)


def capped_page_sizes(specs: Sequence[ResourceSpec], cap: int | None) -> tuple[ResourceSpec, ...]:
    """The specs with no listing page larger than ``cap`` items (types that set no page size keep the API's)."""
    if cap is None:
        return tuple(specs)
    return tuple(replace(s, page_size=cap) if s.page_size and s.page_size > cap else s for s in specs)


def build_service(
    settings: ScannerSettings,
    clients: AwsClientFactory | None = None,
    *,
    publisher: EventPublisher | None = None,
    session_hooks: Sequence[SessionHook] = (),
) -> ScanService:
    clients = clients or AwsClientFactory(settings.aws_region)
    # Target accounts get their own limits: the scan's per-call timeout and retry budget.
    target_clients = AwsClientFactory(
        settings.aws_region,
        clients.session,
        max_attempts=settings.api_max_attempts,
        read_timeout=settings.api_call_timeout_s,
        max_pool_connections=max(32, settings.max_workers * 2),
    )
    table = clients.dynamodb_table(settings.app_table_name)
    sessions = StsSessionProvider(
        clients,
        settings.role_name,
        duration_s=settings.role_duration_s,
        target_clients=target_clients,
        hooks=session_hooks,
        retry=throttle_retry(settings.throttle_backoff_s),
    )
    regions, specs = plan(settings)
    specs = capped_page_sizes(specs, settings.list_page_size_max)
    return ScanService(
        DynamoDbAccountDirectory(table),
        sessions,
        publisher or event_publisher(settings, clients),
        ScanOptions(
            regions=regions,
            specs=specs,
            max_workers=settings.max_workers,
            max_accounts=settings.max_accounts,
            page_max_bytes=settings.page_max_bytes,
            page_max_items=settings.page_max_items,
            region_concurrency=settings.region_concurrency,
            publish_ahead=settings.publish_ahead,
            heap_trim_interval_s=settings.heap_trim_interval_s,
            lock_ttl_s=settings.lock_ttl_s,
            shard_size=settings.shard_size,
        ),
        lock=DynamoDbScanLock(table),
        ledger=DynamoDbScanLedger(
            table,
            audit_table=clients.dynamodb_table(settings.audit_table_name) if settings.audit_table_name else None,
        ),
        claims=S3ClaimStore(clients.client("s3"), settings.inventory_bucket) if settings.inventory_bucket else None,
        meter=sessions.meter,
        metrics=EmfScanMetrics(namespace=settings.metrics_namespace) if settings.emit_metrics else None,
        coordinator=DynamoDbShardCoordinator(table),
        launcher=shard_launcher(settings, clients),
    )


def event_publisher(settings: ScannerSettings, clients: AwsClientFactory) -> SnsEventPublisher:
    """PublishBatch to the events topic, each request body urlencoded once (``adapters.query_body``)."""
    return SnsEventPublisher(encode_bodies_once(clients.client("sns")), settings.events_topic_arn)


def shard_launcher(settings: ScannerSettings, clients: AwsClientFactory) -> ShardLauncher | None:
    """ECS RunTask per shard in AWS; local processes otherwise (None: never fan out)."""
    if settings.shard_launcher == "ecs":
        return EcsShardLauncher(
            clients.client("ecs"),
            cluster=str(settings.ecs_cluster),
            task_definition=str(settings.ecs_task_definition),
            container=settings.ecs_container_name,
            subnets=settings.ecs_subnets,
            security_groups=settings.ecs_security_groups,
            assign_public_ip=settings.ecs_assign_public_ip,
        )
    return ProcessShardLauncher(parallel=settings.shard_processes) if settings.shard_processes else None


def generate_config_text(settings: ScannerSettings, account_id: str | None = None, *, on: date | None = None) -> str:
    """`inventory config generate`: the YAML for the active accounts (or one of them)."""
    clients = AwsClientFactory(settings.aws_region)
    accounts = DynamoDbAccountDirectory(clients.dynamodb_table(settings.app_table_name))
    active = accounts.enabled_accounts([account_id] if account_id else None)
    if account_id and not active:
        raise LookupError(f"account {account_id} is not registered with syncEnabled")
    regions, specs = plan(settings)
    document = generate_config(regions, on=on or date.today(), specs=specs)
    return config_yaml(document, account_ids=[a.account_id for a in active])


def import_organization_accounts(settings: ScannerSettings) -> tuple[list[Account], list[Account]]:
    """`inventory accounts import --from-organizations`: (accounts of the organization, those newly added)."""
    clients = AwsClientFactory(settings.aws_region)
    found = organization_accounts(clients.client("organizations"))
    added = DynamoDbAccountImporter(clients.dynamodb_table(settings.app_table_name)).add_missing(found)
    return found, added


@cache
def default_service() -> ScanService:
    return build_service(ScannerSettings())  # values come from the environment
