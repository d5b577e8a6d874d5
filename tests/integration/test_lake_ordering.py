"""Any order and repetition of two scans' events leaves the Iceberg tables equal to the truth."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from inventory_core.settings import IcebergSettings
from inventory_events import AnyEvent, Resource, Scope
from inventory_lake import load_catalog
from inventory_lake.duck import open_views, query
from lake_writer.bootstrap import build_service
from lake_writer.handler import handle_batch
from lake_writer.settings import LakeWriterSettings

from tests.builders import T0, later, page, resource, scope, scope_completed, sqs_event
from tests.conftest import Stack

pytestmark = pytest.mark.emulator
EAST, WEST, EU = scope(region="us-east-1"), scope(region="us-west-2"), scope(region="eu-west-1")


def scan(execution: str, started: datetime, found: dict[Scope, list[Resource]], failed: set[str]) -> list[AnyEvent]:
    events: list[AnyEvent] = []
    for sc, resources in found.items():
        if sc.key in failed:
            events.append(scope_completed(sc, execution_id=execution, pages=0, started=started, status="failed"))
            continue
        chunks = [resources[i : i + 2] for i in range(0, len(resources), 2)]
        events += [page(c, execution_id=execution, page_no=n + 1, started=started) for n, c in enumerate(chunks)]
        events.append(
            scope_completed(sc, execution_id=execution, pages=len(chunks), count=len(resources), started=started)
        )
    return events


@pytest.mark.parametrize("seed", [3, 7])
def test_shuffled_duplicated_events_of_two_scans_give_the_truth(stack: Stack, seed: int) -> None:
    # GIVEN scan 1 and scan 2 of three scopes: east loses 4 and 5 and 0 stops; eu gains 13; west fails in scan 2
    s2 = later(60)
    scan1 = scan(
        "s1",
        T0,
        {
            EAST: [resource(i, region="us-east-1", at=T0) for i in range(6)],
            EU: [resource(i, region="eu-west-1", at=T0) for i in range(10, 13)],
            WEST: [resource(i, region="us-west-2", at=T0) for i in (20, 21)],
        },
        failed=set(),
    )
    east2 = [resource(0, region="us-east-1", at=later(61), state="stopped")]
    east2 += [resource(i, region="us-east-1", at=later(61)) for i in range(1, 4)]
    scan2 = scan(
        "s2",
        s2,
        {
            EAST: east2,
            EU: [resource(i, region="eu-west-1", at=later(61)) for i in range(10, 14)],
            WEST: [],
        },
        failed={WEST.key},
    )
    rng = random.Random(seed)
    queue = scan1 + scan2 + rng.sample(scan1 + scan2, 6)
    rng.shuffle(queue)
    service = build_service(LakeWriterSettings())

    # WHEN they are delivered in batches of five, completions that must wait going back to the queue
    rounds = 0
    while queue and rounds < 40:
        rounds += 1
        batch, queue = queue[:5], queue[5:]
        event = sqs_event(*batch, queue="lake-writer")
        failed = {f["itemIdentifier"] for f in handle_batch(event, None, service)["batchItemFailures"]}
        queue += [e for e, r in zip(batch, event["Records"], strict=True) if r["messageId"] in failed]
    assert not queue, f"{len(queue)} events never applied"

    # THEN every row is what the two scans say
    truth = {
        r.resource_arn: ("active", r.state, r.discovered_at)
        for e in scan2
        if e.event_type == "ResourcesDiscovered"
        for r in e.resources
    }
    truth |= {resource(i, region="us-east-1").resource_arn: ("missing", "running", T0) for i in (4, 5)}
    truth |= {resource(i, region="us-west-2").resource_arn: ("active", "running", T0) for i in (20, 21)}
    settings = IcebergSettings()
    con = open_views(load_catalog(settings), settings.iceberg_namespace)
    _, rows = query(con, "SELECT resource_arn, discovery_status, state, last_discovered_at FROM resources")
    assert {arn: (status, state, seen) for arn, status, state, seen in rows} == {
        arn: (status, state, seen.replace(tzinfo=None)) for arn, (status, state, seen) in truth.items()
    }
    _, history = query(con, "SELECT execution_id, count(*) FROM resource_history GROUP BY 1 ORDER BY 1")
    assert history == [("s1", 11), ("s2", 8)]
