"""CDK entry point: ``make synth`` / ``make deploy`` (the pinned CDK CLI runs ``python app.py``).

Context keys (``-c inventory:stage=dev`` ...) are documented in ``infra/src/infra/stacks/config.py`` and
docs/deploy.md. The stack is named ``Inventory`` or ``Inventory-<stage>``.
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from infra.stacks.config import StackConfig
from infra.stacks.inventory_stack import InventoryStack

# Bucket names carry the account and region, so the stack is never environment-agnostic; the fallback
# lets `cdk synth` run without credentials (deploy uses the caller's account and region).
app = cdk.App()
config = StackConfig.from_context(app.node)
InventoryStack(
    app,
    f"Inventory-{config.stage}" if config.stage else "Inventory",
    config=config,
    env=cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT", "123456789012"),
        region=os.environ.get("CDK_DEFAULT_REGION", "us-east-1"),
    ),
    description="AWS Auto-Discovery: scanner, consumers, API, data stores, alarms",
    termination_protection=config.stage in ("", "prod"),
)
app.synth()
