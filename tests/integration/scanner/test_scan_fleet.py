"""The real ScanService against a seeded fleet on moto: every ARN found, none invented, tags and names right."""

from __future__ import annotations

from collections import defaultdict

import pytest
from inventory_cli.fleet import TRD_TYPES, seed_fleet
from inventory_cli.runtime import register_accounts
from inventory_core.items import Account
from inventory_events import ScanRequested
from scanner.bootstrap import build_service
from scanner.settings import ScannerSettings

from tests.conftest import Stack, unique_accounts
from tests.fakes import InMemoryEventPublisher

pytestmark = pytest.mark.emulator
REGIONS = ["us-east-1", "eu-west-1"]


def test_a_complete_scan_finds_exactly_the_seeded_fleet_of_every_trd_type(stack: Stack) -> None:
    # GIVEN all eight TRD types seeded in three accounts x two regions
    accounts = unique_accounts(3)
    fleet = seed_fleet([(a, f"team-{i}") for i, a in enumerate(accounts)], REGIONS, 150, prefix=stack.topology.prefix)
    register_accounts(stack.clients, stack.env["APP_TABLE_NAME"], [Account(a, a, True) for a in accounts])
    assert all(fleet.arns[slug] for slug in TRD_TYPES)

    # WHEN the real scan service (STS, paginated listing, enrichment) scans them
    publisher = InMemoryEventPublisher()
    settings = ScannerSettings(inventory_regions=REGIONS, page_max_items=2)
    result = build_service(settings, stack.clients, publisher=publisher).scan(
        ScanRequested(execution_id="fleet-1", account_ids=accounts)
    )

    # THEN every type holds exactly the seeded ARNs
    found: dict[str, set[str]] = defaultdict(set)
    resources = {}
    for page in publisher.of_type("ResourcesDiscovered"):
        for r in page.resources:
            found[r.resource_type].add(r.resource_arn)
            resources[r.resource_arn] = r
    for slug in TRD_TYPES:
        assert found[slug] == fleet.arns[slug], slug
    assert {a.account_id: a.status for a in result.accounts} == dict.fromkeys(accounts, "success")
    scopes = publisher.of_type("ScopeCompleted")
    assert all(s.status == "complete" for s in scopes)
    assert sum(s.resource_count for s in scopes) == sum(len(v) for v in fleet.arns.values())
    # a scope of many resources spans several pages, and says how many
    assert max(s.page_count for s in scopes) > 1

    # AND names, tags, states and regions come out normalized for every type
    for slug in TRD_TYPES:
        for arn in fleet.arns[slug]:
            r = resources[arn]
            assert r.resource_type == slug
            assert r.resource_id and r.name and r.raw
            if slug != "vpc":  # moto's default VPCs carry no tags
                assert r.tags.get("env", "").startswith("team-"), (slug, r.tags)
                assert r.tags.get("Name") == r.name or slug in {"ecs", "lambda", "dynamodb", "elbv2", "rds"}
    buckets = [resources[a] for a in fleet.arns["s3"]]
    assert {b.region for b in buckets} <= set(REGIONS) and len({b.region for b in buckets}) == 2
    assert {r.state for a in fleet.arns["ec2"] for r in [resources[a]]} == {"running", "stopped"}
    assert all(resources[a].metadata["Engine"] in {"postgres", "mysql"} for a in fleet.arns["rds"])
    assert all(resources[a].state == "ACTIVE" for a in fleet.arns["ecs"])
    assert all(resources[a].metadata["clusterArn"] for a in fleet.arns["ecs"])
