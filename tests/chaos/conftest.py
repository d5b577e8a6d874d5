"""Chaos fixtures: one seeded fleet per session (moto keeps it), registered in each test's fresh stack."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from inventory_cli.fleet import Fleet, seed_fleet

from tests.chaos.harness import REPORT_PATH, RESULTS_PATH, Pipeline
from tests.chaos.report import write_report
from tests.conftest import Stack, unique_accounts

TYPES = ("ec2", "s3", "vpc")
REGIONS = ["us-east-1", "eu-west-1"]
#: ``make chaos`` sets CHAOS_FULL=1 (every fault); both it and ``make test``'s short set run on about 1,000 resources
#: (CHAOS_RESOURCES): the short scenario's call took 45 s at 1,012 (scan 14, drain 28, check 2.5 s) through quiet.sh.
FULL = os.environ.get("CHAOS_FULL") == "1"
RESOURCES = int(os.environ.get("CHAOS_RESOURCES", "1000"))


@pytest.fixture(scope="session")
def chaos_fleet(moto_endpoint: str) -> Fleet:
    accounts = unique_accounts(3)
    started = time.monotonic()
    named = [(a, f"chaos-{i}") for i, a in enumerate(accounts)]
    # Mostly instances (moto creates 100 per call); a tenth buckets and VPCs, so global S3 and a second
    # regional type are covered too.
    fleet = seed_fleet(named, REGIONS, RESOURCES * 9 // 10, prefix="chaos-", types=("ec2",))
    rest = seed_fleet(named, REGIONS, RESOURCES // 10, prefix="chaos-", types=("s3", "vpc"))
    fleet.arns.update(rest.arns)
    print(f"chaos fleet: {len(fleet.arns_of(*TYPES))} resources seeded in {time.monotonic() - started:.1f}s")
    return fleet


@pytest.fixture(scope="session", autouse=True)
def _fresh_results() -> Iterator[None]:
    RESULTS_PATH.unlink(missing_ok=True)
    yield
    if FULL and write_report():
        print(f"wrote {REPORT_PATH}")


@pytest.fixture
def pipeline(stack: Stack, chaos_fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    monkeypatch.setenv("SCAN_TYPES", ",".join(TYPES))
    monkeypatch.setenv("INVENTORY_REGIONS", ",".join(REGIONS))
    return Pipeline(stack, chaos_fleet, TYPES)


def full_only() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not FULL, reason="runs in make chaos (CHAOS_FULL=1); make test runs the short set")
