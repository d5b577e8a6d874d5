"""The projector's decisions as pure functions (ddb_projector.rules), without any store."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from ddb_projector import rules
from ddb_projector.rules import LowerFirst, Stored, Write
from inventory_core.timefmt import iso
from inventory_events import AccountSummary, ScanCompleted

from tests.builders import T0, account_completed, later, resource, scope


def stored(last: int, first: int = 0, *, missing_since: int | None = None) -> Stored:
    return Stored(
        last_discovered_at=iso(later(last)),
        first_discovered_at=iso(later(first)),
        discovery_status="active" if missing_since is None else "missing",
        missing_since=None if missing_since is None else iso(later(missing_since)),
    )


def test_a_sighting_of_an_unknown_resource_is_written_active() -> None:
    r = resource(1)
    assert rules.plan_page([r], {}, set()).writes == [Write(r, iso(T0), None)]


def test_only_a_newer_sighting_is_written_and_keeps_the_oldest_first_seen() -> None:
    newer, same, older = resource(1, at=later(60)), resource(2, at=later(30)), resource(3, at=later(10))
    held = {newer.resource_arn: stored(30, 20), same.resource_arn: stored(30, 20), older.resource_arn: stored(30, 20)}
    plan = rules.plan_page([newer, same, older], held, set())
    assert plan.writes == [Write(newer, iso(later(20)), None)]
    assert plan.lower_first == [LowerFirst(older.resource_arn, iso(later(10)))]


def test_a_page_holding_one_resource_twice_plans_its_newest_sighting_once() -> None:
    late, early = resource(1, at=later(5), state="stopped"), resource(1, at=T0)
    assert rules.plan_page([late, early], {}, set()).writes == [Write(late, iso(later(5)), None)]


def test_a_sighting_older_than_a_recorded_sweep_is_written_missing_since_the_earliest_later_sweep() -> None:
    sweeps = {iso(later(90)), iso(later(60)), iso(later(20))}
    r = resource(1, at=later(30))
    assert rules.plan_page([r], {}, sweeps).writes == [Write(r, iso(later(30)), iso(later(60)))]
    assert rules.missing_since(iso(later(95)), sweeps) is None


@pytest.mark.parametrize(
    ("item", "sweep", "missed"),
    [
        (stored(30), 60, True),  # last seen before the sweep's scan started
        (stored(60), 60, False),  # seen by the sweeping scan itself
        (stored(90), 60, False),  # seen by a later scan
        (stored(30, missing_since=90), 60, True),  # an older sweep processed late moves missingSince back
        (stored(30, missing_since=60), 90, False),  # already missing since an earlier scan
        (stored(30, missing_since=60), 60, False),  # the same sweep again
    ],
)
def test_a_sweep_misses_what_was_last_seen_before_its_scan_started(item: Stored, sweep: int, missed: bool) -> None:
    assert rules.missed_by_sweep(item, iso(later(sweep))) is missed


def test_missing_ttl_is_missing_since_plus_the_retention() -> None:
    assert rules.missing_ttl(iso(later(60)), timedelta(days=30)) == int((later(60) + timedelta(days=30)).timestamp())


def test_sweeps_older_than_the_memory_are_forgotten_and_the_new_one_remembered() -> None:
    starts = {iso(later(0)), iso(later(50))}
    kept = rules.remembered_sweeps(starts, later(100), timedelta(minutes=60))
    assert kept == {iso(later(50)), iso(later(100))}


def test_a_global_scope_spans_regions_a_regional_one_only_its_own() -> None:
    assert rules.in_scope(scope(region="global", resource_type="iam"), "111111111111", "iam", "us-east-1")
    assert not rules.in_scope(scope(), "111111111111", "ec2", "eu-west-1")
    assert not rules.in_scope(scope(), "222222222222", "ec2", "us-east-1")
    assert not rules.in_scope(scope(), "111111111111", "rds", "us-east-1")


def test_an_account_takes_only_a_strictly_later_scan() -> None:
    assert rules.is_later_scan(None, iso(T0))
    assert rules.is_later_scan(iso(T0), iso(later(1)))
    assert not rules.is_later_scan(iso(T0), iso(T0))
    assert not rules.is_later_scan(iso(later(1)), iso(T0))


def test_a_failed_scan_keeps_the_account_counts_a_success_sets_both() -> None:
    failed = rules.account_sync_values(account_completed(status="failed", count=0))
    success = rules.account_sync_values(account_completed(execution_id="s2", count=7))
    assert "lastSyncResourceCount" not in failed
    assert "lastSuccessfulSyncResourceCount" not in failed
    assert failed["lastSyncStatus"] == "failed"
    assert (success["lastSyncResourceCount"], success["lastSuccessfulSyncResourceCount"]) == (7, 7)
    assert success["lastSuccessfulSyncExecutionId"] == "s2"


def test_a_scan_fails_only_if_every_account_failed() -> None:
    def scan(*statuses: str) -> ScanCompleted:
        accounts = [AccountSummary(account_id=f"{n:012d}", status=s, resource_count=0) for n, s in enumerate(statuses)]
        return ScanCompleted(execution_id="x", scan_started_at=T0, duration_ms=1, accounts=accounts)

    assert rules.scan_outcome(scan("failed", "failed")) == "failed"
    assert rules.scan_outcome(scan("failed", "success")) == "completed"
    assert rules.scan_outcome(scan()) == "completed"


def test_the_rules_module_loads_no_aws_sdk() -> None:
    # a fresh interpreter: what importing the rules alone brings in (the test process has boto3 loaded already)
    probe = (
        "import sys, ddb_projector.rules; print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
