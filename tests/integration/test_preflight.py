"""`make preflight` on the emulator: an app table like the topology passes, a drifted one fails naming what."""

from __future__ import annotations

import uuid

import pytest
from infra.preflight import check_analytics_integration, check_app_table, run
from inventory_cli.provision import create_table
from inventory_core.aws import AwsClientFactory
from inventory_core.topology import TableSpec, build_topology

pytestmark = pytest.mark.emulator

ACCOUNT = "123456789012"


def test_a_table_made_from_the_topology_passes(moto_endpoint: str) -> None:
    clients = AwsClientFactory("us-east-1")
    spec = build_topology(ACCOUNT, "us-east-1", prefix=f"pf{uuid.uuid4().hex[:6]}-").table
    create_table(clients, spec)

    findings = check_app_table(clients.client("dynamodb"), spec, spec.name)

    assert findings and all(f.ok for f in findings), [f.line() for f in findings]


def test_a_table_without_ttl_and_with_a_missing_gsi_fails_naming_both(moto_endpoint: str) -> None:
    clients = AwsClientFactory("us-east-1")
    spec = build_topology(ACCOUNT, "us-east-1", prefix=f"pf{uuid.uuid4().hex[:6]}-").table
    drifted = TableSpec(name=spec.name, gsis=spec.gsis[:2], ttl_attribute=None)
    create_table(clients, drifted)

    failed = [f.message for f in check_app_table(clients.client("dynamodb"), spec, spec.name) if not f.ok]

    assert any("GSI gsi3" in m and "missing" in m for m in failed), failed
    assert any(m.startswith("TTL") for m in failed), failed


def test_a_missing_table_fails_with_the_reason(moto_endpoint: str) -> None:
    spec = build_topology(ACCOUNT, "us-east-1").table
    [finding] = check_app_table(AwsClientFactory("us-east-1").client("dynamodb"), spec, "no-such-table")
    assert not finding.ok
    assert "ResourceNotFoundException" in finding.message


def test_analytics_integration_needs_the_namespace_tables_in_glue(moto_endpoint: str) -> None:
    glue = AwsClientFactory("us-east-1").client("glue")
    namespace = f"ns{uuid.uuid4().hex[:6]}"
    [missing] = check_analytics_integration(glue, ACCOUNT, "bucket", namespace)
    assert not missing.ok
    assert "docs/deploy.md" in missing.message

    glue.create_database(DatabaseInput={"Name": namespace})
    glue.create_table(DatabaseName=namespace, TableInput={"Name": "resources"})
    [partial] = check_analytics_integration(glue, ACCOUNT, "bucket", namespace)
    assert not partial.ok
    assert "resource_history" in partial.message

    glue.create_table(DatabaseName=namespace, TableInput={"Name": "resource_history"})
    [complete] = check_analytics_integration(glue, ACCOUNT, "bucket", namespace)
    assert complete.ok


def test_run_checks_the_imported_table_by_name(moto_endpoint: str) -> None:
    clients = AwsClientFactory("us-east-1")
    spec = build_topology(ACCOUNT, "us-east-1", prefix=f"pf{uuid.uuid4().hex[:6]}-").table
    create_table(clients, spec)

    findings = run(clients, account_id=ACCOUNT, region="us-east-1", stage="", existing_app_table=spec.name)

    assert all(f.ok for f in findings if f.check.startswith("app table")), [f.line() for f in findings]
    assert any(f.check.startswith("app table " + spec.name) for f in findings)
