"""The assumed-role session: ExternalId and session name on the wire, credentials refreshed before expiry."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from scanner.adapters.aws_session import StsSessionProvider
from scanner.catalog import spec_by_slug

from tests.conftest import unique_accounts

pytestmark = pytest.mark.emulator


def test_credentials_are_refreshed_before_they_expire_with_the_external_id_and_execution(moto_endpoint: str) -> None:
    # GIVEN a provider whose credentials live 15 minutes, botocore's refresh window
    account = unique_accounts(1)[0]
    clients = AwsClientFactory("us-east-1")
    calls: list[dict[str, list[str]]] = []

    def record(request: Any, **_: Any) -> None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        calls.append(parse_qs(body))

    clients.client("sts").meta.events.register("before-send.sts.AssumeRole", record)
    provider = StsSessionProvider(clients, "NucleusAccess-Inventory", duration_s=900)
    # WHEN a session lists twice
    session = provider.open(Account(account, "a", True, external_id="ext-42"), "exec-7")
    for _ in range(2):
        assert list(session.pages(spec_by_slug("vpc"), "eu-west-1"))
    # THEN every listing got fresh credentials, asked for with the ExternalId and the execution in the name
    assert len(calls) >= 3
    assert {c["ExternalId"][0] for c in calls} == {"ext-42"}
    assert {c["RoleSessionName"][0] for c in calls} == {"inventory-exec-7"}
    assert {c["RoleArn"][0] for c in calls} == {f"arn:aws:iam::{account}:role/NucleusAccess-Inventory"}
