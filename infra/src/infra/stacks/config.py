"""What a deployment may choose, read from CDK context (``cdk.json`` or ``-c key=value``).

Every key is optional; the defaults deploy a complete stack into an empty account. Names keep the
``inventory:`` namespace so they never collide with CDK's own context keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aws_cdk import aws_logs as logs
from constructs import Node

STAGE = "inventory:stage"
VPC_ID = "inventory:vpcId"
SCANNER_SUBNETS = "inventory:scannerSubnets"
APP_TABLE_NAME = "inventory:existingAppTableName"
ALARM_EMAIL = "inventory:alarmEmail"
LOG_RETENTION_DAYS = "inventory:logRetentionDays"
COGNITO_DOMAIN_PREFIX = "inventory:cognitoDomainPrefix"

RETENTION_DAYS: dict[int, logs.RetentionDays] = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}
"""The log retentions a deployment may choose (CloudWatch accepts only fixed values)."""

_STAGE_RE = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(ValueError):
    """A context value the stack cannot deploy with; the message names the key."""


@dataclass(frozen=True)
class StackConfig:
    """The deployment's choices.

    Attributes:
        stage: ``dev``, ``prod`` ... : every resource name gets the prefix ``<stage>-`` so several stages
            share one account; empty (the default) keeps the TRD's names.
        vpc_id: an existing VPC for the scanner tasks (looked up at synth, needs credentials); None = a new
            VPC with two public subnets and no NAT gateway.
        scanner_subnets: ``public`` (public IP, no NAT: the default) or ``private`` (an existing VPC whose
            private subnets already route to a NAT gateway).
        existing_app_table_name: import this DynamoDB table (``nucleus-app-app-table`` of TRD 3.1) instead of
            creating one; ``make preflight`` checks its keys, GSIs and TTL against the topology.
        alarm_email: subscribed to the alarm topic when set (the address must confirm the subscription).
        log_retention_days: retention of every log group the stack creates.
        cognito_domain_prefix: the hosted sign-in domain prefix (globally unique per region).
    """

    stage: str = ""
    vpc_id: str | None = None
    scanner_subnets: Literal["public", "private"] = "public"
    existing_app_table_name: str | None = None
    alarm_email: str | None = None
    log_retention_days: int = 90
    cognito_domain_prefix: str | None = None

    @property
    def prefix(self) -> str:
        """The topology prefix: ``dev-`` for stage ``dev``, empty without a stage."""
        return f"{self.stage}-" if self.stage else ""

    def log_retention(self) -> logs.RetentionDays:
        """The CloudWatch retention of ``log_retention_days``."""
        return RETENTION_DAYS[self.log_retention_days]

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        """Read and check the ``inventory:*`` context keys."""

        def text(key: str) -> str | None:
            value = node.try_get_context(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise ConfigError(f"context {key} must be a string, got {value!r}")
            return value.strip()

        stage = text(STAGE) or ""
        if stage and not _STAGE_RE.match(stage):
            raise ConfigError(
                f"context {STAGE}={stage!r}: lower-case letters, digits and '-', at most 15, letter first"
            )
        subnets = text(SCANNER_SUBNETS) or "public"
        if subnets not in ("public", "private"):
            raise ConfigError(f"context {SCANNER_SUBNETS}={subnets!r}: expected public or private")
        vpc_id = text(VPC_ID)
        if subnets == "private" and not vpc_id:
            raise ConfigError(f"context {SCANNER_SUBNETS}=private needs {VPC_ID} (the new VPC has no NAT gateway)")
        email = text(ALARM_EMAIL)
        if email and not _EMAIL_RE.match(email):
            raise ConfigError(f"context {ALARM_EMAIL}={email!r} is not an e-mail address")
        retention = node.try_get_context(LOG_RETENTION_DAYS)
        try:
            days = int(retention) if retention is not None else 90
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"context {LOG_RETENTION_DAYS}={retention!r} is not a number of days") from exc
        if days not in RETENTION_DAYS:
            raise ConfigError(f"context {LOG_RETENTION_DAYS}={days}: expected one of {sorted(RETENTION_DAYS)}")
        return cls(
            stage=stage,
            vpc_id=vpc_id,
            scanner_subnets="private" if subnets == "private" else "public",
            existing_app_table_name=text(APP_TABLE_NAME),
            alarm_email=email,
            log_retention_days=days,
            cognito_domain_prefix=text(COGNITO_DOMAIN_PREFIX),
        )
