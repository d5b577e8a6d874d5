"""missingSince means one thing in both stores: the start of the earliest complete scan that did not find it.

The same events, with an older scan's sweep and an older scan's page arriving late, go to the projector
(DynamoDB) and to the lake writer (Iceberg) on the emulator; both must say the same, and neither may use
the time it processed the sweep.
"""

from __future__ import annotations

import pytest
from boto3.dynamodb.conditions import Key
from ddb_projector.bootstrap import build_service as build_projector
from ddb_projector.settings import ProjectorSettings
from inventory_core.items import account_pk, resource_sk_prefix
from inventory_core.settings import IcebergSettings
from inventory_core.timefmt import iso
from inventory_events import AnyEvent
from inventory_lake import load_catalog
from inventory_lake.duck import attach_views, connect
from lake_writer.bootstrap import build_service as build_lake_writer
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings

from tests.builders import T0, later, page, resource, scope, scope_completed, sqs_event
from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator


def test_projector_and_lake_writer_agree_on_missing_since_under_late_delivery(stack: Stack) -> None:
    # GIVEN scan s1 saw 1, 2, 3; s2 (start +60) and s3 (start +90) saw only 3; s3's sweep is processed
    # before s2's, and a page of an older scan s0 (start +29) with a new resource 4 arrives last
    (acct,) = unique_accounts(1)

    pages = [
        page([resource(n, account_id=acct) for n in (1, 2, 3)], execution_id="s1"),
        page([resource(3, account_id=acct, at=later(61))], execution_id="s2", started=later(60)),
        page([resource(3, account_id=acct, at=later(91))], execution_id="s3", started=later(90)),
    ]
    deliveries: list[list[AnyEvent]] = [
        [*pages],
        [scope_completed(scope(acct), execution_id="s3", pages=1, started=later(90))],
        [scope_completed(scope(acct), execution_id="s2", pages=1, started=later(60))],
        [page([resource(4, account_id=acct, at=later(30))], execution_id="s0", started=later(29))],
    ]
    # WHEN each consumer gets them in that order (the lake writer in those four batches)
    projector, lake = build_projector(ProjectorSettings()), build_lake_writer(LakeWriterSettings())
    for batch in deliveries:
        for event in batch:
            projector.handle(event)
        assert handle_batch(sqs_event(*batch, queue="lake-writer"), None, lake) == {"batchItemFailures": []}
    # THEN both say 1, 2 and 4 are missing since s2's start (the earliest scan that missed them), 3 is active
    expected: dict[str, str | None] = {resource(n, account_id=acct).resource_arn: iso(later(60)) for n in (1, 2, 4)}
    expected[resource(3, account_id=acct).resource_arn] = None
    items = stack.table.query(
        KeyConditionExpression=Key("pk").eq(account_pk(acct)) & Key("sk").begins_with(resource_sk_prefix()),
        ConsistentRead=True,
    )["Items"]
    assert {i["resourceArn"]: i.get("missingSince") for i in items} == expected
    con = connect()
    settings = IcebergSettings()
    attach_views(con, load_catalog(settings), settings.iceberg_namespace)
    lake_rows = con.execute(
        "SELECT resource_arn, discovery_status, missing_since FROM resources WHERE account_id = ?", [acct]
    ).fetchall()
    assert {arn: None if since is None else iso(since.replace(tzinfo=T0.tzinfo)) for arn, _, since in lake_rows} == (
        expected
    )
    assert {arn: status for arn, status, _ in lake_rows} == {
        arn: "active" if since is None else "missing" for arn, since in expected.items()
    }
