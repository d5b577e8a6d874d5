"""The generated catalogue against the emulator: every type moto implements lists once on an empty account."""

from __future__ import annotations

import pytest
from inventory_core.aws import AwsClientFactory
from inventory_core.items import Account
from inventory_events import ScanRequested, ScopeCompleted
from scanner.adapters.aws_session import StsSessionProvider
from scanner.catalog import CATALOG, GENERATED
from scanner.service import ScanOptions, ScanService

from tests.conftest import unique_accounts
from tests.fakes import InMemoryAccountDirectory, InMemoryEventPublisher

pytestmark = pytest.mark.emulator
REGION = "eu-west-1"
EMULATED = tuple(spec for spec in GENERATED if spec.emulator)


def test_the_generated_catalogue_is_broad() -> None:
    emulated_services = {spec.service for spec in EMULATED}
    assert len(CATALOG) >= 400
    assert len(EMULATED) >= 200 and len(emulated_services) >= 50


def test_every_emulated_generated_type_lists_once_on_an_empty_account(moto_endpoint: str) -> None:
    account = unique_accounts(1)[0]
    publisher = InMemoryEventPublisher()
    service = ScanService(
        InMemoryAccountDirectory([Account(account, "empty", True)]),
        StsSessionProvider(AwsClientFactory("us-east-1"), "NucleusAccess-Inventory"),
        publisher,
        ScanOptions(regions=[REGION], specs=EMULATED, max_workers=8, region_concurrency=8),
    )
    service.scan(ScanRequested(execution_id="empty-catalogue"))
    scopes: dict[str, list[ScopeCompleted]] = {}
    for scope in publisher.of_type("ScopeCompleted"):
        scopes.setdefault(scope.scope.resource_type, []).append(scope)
    assert {slug: len(s) for slug, s in scopes.items() if len(s) != 1} == {}
    assert set(scopes) == {spec.slug for spec in EMULATED}
    failed = {slug: s[0].error for slug, s in sorted(scopes.items()) if s[0].status != "complete"}
    assert failed == {}, f"{len(failed)} of {len(EMULATED)} types failed on an empty account: {failed}"
    defaults = sorted({r.resource_type for e in publisher.of_type("ResourcesDiscovered") for r in e.resources})
    print(f"{len(EMULATED)} generated types listed; the emulator's defaults found: {defaults}")
    assert len(defaults) <= 12, defaults  # only what a new account has (default VPC, event bus, ...)
