"""Fuzz every operation of the OpenAPI schema with a valid admin token: no 5xx, every response matches."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from inventory_api import deps
from inventory_api.auth import load_or_create_local_key, mint_local_token
from inventory_api.main import create_app
from inventory_cli.provision import provision
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_core.topology import build_topology

from tests.conftest import HOME_ACCOUNT, HOME_REGION, unique_accounts
from tests.fakes.api import resource_item

pytestmark = pytest.mark.emulator


# The schema is read from the app at import (no environment needed); requests go to a stack set up below.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture(scope="module", autouse=True)
def fuzzed_stack(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One stack for the whole module (fuzzing makes hundreds of calls), seeded with a small inventory."""
    state = tmp_path_factory.mktemp("fuzz")
    clients = AwsClientFactory(HOME_REGION)
    env = provision(
        clients, build_topology(HOME_ACCOUNT, HOME_REGION, prefix=f"f{uuid.uuid4().hex[:8]}-"), state_dir=state
    )
    env |= {
        "AUTH_LOCAL_KEY_FILE": str(state / "auth.key"),
        "RATE_LIMIT_PER_MINUTE": "100000",
        "READ_MODEL_TTL_S": "2",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    a, b = unique_accounts(2)
    with clients.dynamodb_table(env["APP_TABLE_NAME"]).batch_writer() as batch:
        for n in range(30):
            batch.put_item(Item=resource_item(n, account=a if n % 2 else b, rtype="ec2" if n % 3 else "s3"))
        batch.put_item(Item=Account(a, "Prod", True).to_item())
        batch.put_item(Item=Account(b, "Dev", False).to_item())
    deps.reset()
    try:
        yield
    finally:
        deps.reset()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def admin_token() -> str:
    return mint_local_token(load_or_create_local_key(Path(os.environ["AUTH_LOCAL_KEY_FILE"])), "fuzzer", "admin")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_fails_or_breaks_its_schema(case: schemathesis.Case[Any]) -> None:
    # Every check but negative_data_rejection: the API ignores unknown query parameters (as HTTP APIs
    # do), and schemathesis counts the token we add as "missing" in its negative cases.
    excluded = [schemathesis.checks.negative_data_rejection]
    if (case.method, case.operation.path) in {
        ("GET", "/api/inventory/sync"),
        ("GET", "/api/inventory/resource-history/{resourceArn}"),
    }:
        # nextToken is opaque: only a token the API issued is valid, any other string is a 422
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token()}"}, excluded_checks=excluded)
