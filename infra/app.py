"""CDK entry point: ``cdk synth`` / ``cdk deploy`` from this directory."""

from __future__ import annotations

import os

import aws_cdk as cdk
from infra.stacks.inventory_stack import InventoryStack

# Bucket names carry the account and region, so the stack is never environment-agnostic; the fallback
# lets `cdk synth` run without credentials.
app = cdk.App()
InventoryStack(
    app,
    "InventoryStack",
    env=cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT", "123456789012"),
        region=os.environ.get("CDK_DEFAULT_REGION", "us-east-1"),
    ),
    description="AWS Auto-Discovery: inventory tables, event fan-out, buckets and consumer roles",
)
app.synth()
