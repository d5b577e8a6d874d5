from __future__ import annotations

from typing import Annotated, Literal

from inventory_core.settings import RegionSettings, TableSettings, TopicSettings
from inventory_core.topology import METRICS_NAMESPACE
from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode


class ScannerSettings(TableSettings, TopicSettings, RegionSettings):
    """Scanner configuration, read from the environment."""

    scan_requests_queue_url: str | None = Field(default=None, description="Queue the worker polls for ScanRequested.")
    audit_table_name: str | None = Field(
        default=None, description="Audit table: scheduled and CLI scan triggers are recorded there (AUDIT_TABLE_NAME)."
    )
    role_name: str = Field(default="NucleusAccess-Inventory", description="Role assumed in each target account.")
    role_duration_s: int = Field(default=3600, ge=900, le=43200, description="Lifetime of assumed-role credentials.")
    max_workers: int = Field(default=8, ge=1, le=64, description="Concurrent (account, region, type) scopes.")
    max_accounts: int = Field(default=4, ge=1, le=64, description="Accounts scanned at the same time.")
    region_concurrency: int = Field(default=4, ge=1, le=64, description="Concurrent scopes per account-region.")
    page_max_bytes: int = Field(default=200_000, ge=10_000, le=240_000, description="Max JSON bytes of one page.")
    page_max_items: int = Field(default=500, ge=1, description="Max resources in one page.")
    heap_trim_interval_s: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="Seconds between giving freed heap back to the system during a scan (HEAP_TRIM_INTERVAL_S; 0: "
        "never; glibc only). At 100,000 resources, with one copy of each tag string, the peak went from 285-309 MB "
        "to 289 MB.",
    )
    publish_ahead: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Pages of a scan publishing behind their listings at once (PUBLISH_AHEAD; 0: publish inline). "
        "Each keeps one more page in memory.",
    )
    list_page_size_max: int | None = Field(
        default=None,
        ge=5,
        description="Upper bound of the page size a listing call asks for (LIST_PAGE_SIZE_MAX); types asking more "
        "get this (a parsed page is the largest thing a scope holds).",
    )
    scan_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["trd"],
        description="Types to scan (SCAN_TYPES): trd (the eight TRD sheets), all (whole catalogue), or slugs.",
    )
    inventory_config: str | None = Field(
        default=None, description="aws-auto-inventory YAML to execute instead of SCAN_TYPES (INVENTORY_CONFIG)."
    )
    inventory_bucket: str | None = Field(
        default=None, description="Bucket for claim checks of items too large for a message (INVENTORY_BUCKET)."
    )
    api_max_attempts: int = Field(default=8, ge=1, le=20, description="botocore attempts per call (adaptive mode).")
    api_call_timeout_s: float = Field(default=30.0, gt=0, le=300, description="Read timeout of one API call.")
    throttle_backoff_s: float = Field(
        default=1.0, gt=0, le=30, description="Base of our jittered backoff once botocore's retries are used up."
    )
    # A live scan renews its locks every third of this, so it only bounds how long a scanner that died without
    # releasing them (SIGKILL, a lost Fargate task) keeps its accounts from the next scan.
    lock_ttl_s: int = Field(default=600, ge=60, description="Expiry of an account's scan lock.")
    shard_size: int = Field(default=50, ge=1, description="Accounts per shard when a scan request fans out.")
    shard_processes: int = Field(
        default=2, ge=0, le=16, description="Shards run at once as local processes (0: never fan out)."
    )
    shard_launcher: Literal["process", "ecs"] = Field(
        default="process", description="How shards run: local processes, or one ECS Fargate task each (SHARD_LAUNCHER)."
    )
    ecs_cluster: str | None = Field(default=None, description="Cluster of the shard tasks (ECS_CLUSTER).")
    ecs_task_definition: str | None = Field(default=None, description="The scanner's task definition.")
    ecs_container_name: str = Field(default="scanner", description="Container to override with the shard request.")
    ecs_subnets: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Comma list (ECS_SUBNETS).")
    ecs_security_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma list (ECS_SECURITY_GROUPS)."
    )
    ecs_assign_public_ip: bool = Field(
        default=False, description="Shard tasks get a public IP (public subnets without NAT) (ECS_ASSIGN_PUBLIC_IP)."
    )
    scan_request: str | None = Field(
        default=None, description="A ScanRequested as JSON: the launcher's container override (SCAN_REQUEST)."
    )
    metrics_namespace: str = Field(default=METRICS_NAMESPACE, min_length=1, description="CloudWatch namespace.")
    emit_metrics: bool = Field(default=False, description="Print CloudWatch EMF metrics (EMIT_METRICS).")

    @field_validator("ecs_subnets", "ecs_security_groups", mode="before")
    @classmethod
    def _csv_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _ecs_complete(self) -> ScannerSettings:
        if self.shard_launcher == "ecs":
            missing = [
                name.upper()
                for name in ("ecs_cluster", "ecs_task_definition", "ecs_subnets")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"SHARD_LAUNCHER=ecs needs {', '.join(missing)}")
        return self

    @field_validator("scan_types", mode="before")
    @classmethod
    def _csv_types(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
