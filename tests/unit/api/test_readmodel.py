"""The read model: a published snapshot plus the change journal, refreshed on the request path (no threads)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from inventory_api.ports import StoreError
from inventory_api.readmodel import ReadModel, ResultKey, Snapshot, table_from_rows, table_from_snapshot
from inventory_api.service import InventoryQueryService, ResourceQuery
from inventory_core.grid import GRID_FIELDS, decode_snapshot, encode_snapshot, grid_row
from inventory_core.items import Account

from tests.fakes.api import InMemoryChangeJournal, InMemoryInventoryReader, InMemorySnapshotSource, resource_item

A, B = "111111111111", "222222222222"
ITEMS = [resource_item(n, account=A if n % 2 else B, rtype="ec2" if n < 30 else "s3") for n in range(40)]
ACCOUNTS = [Account(A, "Prod", True), Account(B, "Dev", True)]
WATERMARK = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Clocks:
    """A monotonic clock and a wall clock that move together."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = WATERMARK + timedelta(minutes=1)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


def model_with(
    journal: InMemoryChangeJournal, snapshots: InMemorySnapshotSource, clocks: Clocks, **kwargs: float
) -> tuple[InMemoryInventoryReader, ReadModel, InventoryQueryService]:
    reader = InMemoryInventoryReader.of(ITEMS, ACCOUNTS)
    model = ReadModel(
        reader,
        snapshots=snapshots,
        journal=journal,
        clock=lambda: clocks.mono,
        wall_clock=lambda: clocks.wall,
        **kwargs,
    )
    return reader, model, InventoryQueryService(reader, read_model=model)


def published(rows: list[dict[str, str]] | None = None) -> InMemorySnapshotSource:
    source = InMemorySnapshotSource()
    source.publish(rows if rows is not None else [grid_row(i) for i in ITEMS], WATERMARK)
    return source


def status_of(svc: InventoryQueryService, arn: str) -> str:
    found = svc.list_resources(ResourceQuery(search=arn, page_size=5)).items
    return found[0].discoveryStatus if found else "absent"


def test_a_cold_model_answers_from_the_snapshot_plus_the_journal_without_reading_the_table() -> None:
    # GIVEN a snapshot of 40 rows, and after its watermark one resource marked missing and one new resource
    journal, clocks = InMemoryChangeJournal(), Clocks()
    gone, new = grid_row(ITEMS[3]), grid_row(resource_item(99, account=A))
    journal.write({**gone, "discoveryStatus": "missing"}, WATERMARK + timedelta(seconds=10))
    journal.write(new, WATERMARK + timedelta(seconds=20))
    journal.write(grid_row(ITEMS[5]), WATERMARK - timedelta(hours=1))  # long before the watermark: not read
    reader, _, svc = model_with(journal, published(), clocks, ttl_s=60)

    # WHEN the first request arrives
    page = svc.list_resources(ResourceQuery(page_size=500))

    # THEN totals are exact, both changes show, and no resource was read from the table
    assert page.pagination.totalItems == 41
    assert status_of(svc, gone["resourceArn"]) == "missing"
    assert new["resourceArn"] in {i.resourceArn for i in page.items}
    assert reader.loads == 0


def test_a_warm_model_shows_a_journal_change_within_the_refresh_interval() -> None:
    journal, clocks = InMemoryChangeJournal(), Clocks()
    _, model, svc = model_with(journal, published(), clocks, ttl_s=60, refresh_s=1.0)
    arn = ITEMS[7]["resourceArn"]
    assert status_of(svc, arn) == "active"
    reads = journal.reads

    # WHEN the projector marks it missing
    journal.write({**grid_row(ITEMS[7]), "discoveryStatus": "missing"}, clocks.wall)

    # THEN within the refresh interval the current version answers without a read; after it, the change shows
    clocks.advance(0.5)
    assert status_of(svc, arn) == "active"
    assert journal.reads == reads
    clocks.advance(0.6)
    assert status_of(svc, arn) == "missing"
    assert model.loads == 1  # the snapshot was read once


def test_re_reading_the_journal_never_brings_back_an_older_version() -> None:
    # GIVEN two changes of one resource; the newer one is read first, then the older one lands late
    journal, clocks = InMemoryChangeJournal(), Clocks()
    _, _, svc = model_with(journal, published(), clocks, ttl_s=60, refresh_s=0)
    row = grid_row(ITEMS[9])
    journal.write({**row, "discoveryStatus": "missing"}, clocks.wall)
    assert status_of(svc, row["resourceArn"]) == "missing"
    journal.write({**row, "discoveryStatus": "active"}, clocks.wall - timedelta(seconds=2))
    clocks.advance(1)
    # THEN the newest stamp wins whatever order the entries were read in
    assert status_of(svc, row["resourceArn"]) == "missing"


def test_a_newer_snapshot_replaces_the_base_after_the_ttl_and_an_unchanged_one_is_not_reloaded() -> None:
    journal, clocks = InMemoryChangeJournal(), Clocks()
    snapshots = published()
    _, model, svc = model_with(journal, snapshots, clocks, ttl_s=60)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    clocks.advance(61)
    svc.list_resources(ResourceQuery())
    assert (model.loads, snapshots.fetches) == (1, 2)  # asked again, told unchanged

    snapshots.publish([grid_row(i) for i in ITEMS[:25]], clocks.wall)
    clocks.advance(30)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40  # within the ttl: no new look
    clocks.advance(31)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 25
    assert model.loads == 2


def test_without_a_published_snapshot_the_table_is_read_and_the_journal_applied_on_top() -> None:
    journal, clocks = InMemoryChangeJournal(), Clocks()
    reader, _, svc = model_with(journal, InMemorySnapshotSource(), clocks, ttl_s=60, refresh_s=0)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    assert reader.loads == 1
    journal.write(grid_row(resource_item(77, account=A)), clocks.wall)
    clocks.advance(1)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 41
    assert reader.loads == 1


def test_a_failed_refresh_keeps_serving_the_current_version_and_a_cold_failure_is_an_error() -> None:
    journal, clocks = InMemoryChangeJournal(), Clocks()
    _, _, svc = model_with(journal, published(), clocks, ttl_s=60, refresh_s=0)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    journal.fail = True
    clocks.advance(5)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40

    cold_snapshots = published()
    cold_snapshots.fail = True
    _, _, cold = model_with(InMemoryChangeJournal(), cold_snapshots, Clocks(), ttl_s=60)
    with pytest.raises(StoreError):
        cold.list_resources(ResourceQuery())


def test_resources_of_unregistered_accounts_are_hidden_and_invalidate_re_reads_the_accounts() -> None:
    journal, clocks = InMemoryChangeJournal(), Clocks()
    reader, model, svc = model_with(journal, published(), clocks, ttl_s=600)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    reader.accounts = [a for a in reader.accounts if a["pk"] == f"ACCOUNT#{A}"]
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40  # accounts are read every ttl
    model.invalidate()
    page = svc.list_resources(ResourceQuery(page_size=500))
    assert page.pagination.totalItems == 20
    assert {i.accountId for i in page.items} == {A}
    assert [a.id for a in page.filters.accounts] == [A]


@pytest.mark.parametrize("sort_by", ["name", "lastDiscoveredAt", "state", "accountId"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_every_page_of_a_sorted_filtered_result_matches_a_full_sort(sort_by: str, sort_order: str) -> None:
    # GIVEN 3,000 rows with many equal sort values (ties are broken by ARN)
    rng = random.Random(5)
    rows = [
        grid_row(resource_item(n, account=A, rtype=rng.choice(["ec2", "s3", "rds"]), name=f"N{rng.randrange(50):03d}"))
        for n in range(3000)
    ]
    snap = Snapshot(table_from_rows(rows), [Account(A, "Prod", True).to_item()], loaded_at=0)
    key = ResultKey((), ("ec2", "rds"), (), (), "", sort_by, sort_order)
    wanted = sorted(
        (r for r in rows if r["resourceType"] in ("ec2", "rds")),
        key=lambda r: (r[sort_by].lower(), r["resourceArn"]),
        reverse=sort_order == "desc",
    )
    # WHEN it is read page by page (top-k selections), then whole (a full sort)
    matched = snap.matching(key)
    paged = [snap.rows[i]["resourceArn"] for start in range(0, 600, 25) for i in matched[start : start + 25]]
    whole = [snap.rows[i]["resourceArn"] for i in matched]
    # THEN both equal the reference order, and the count is exact
    assert len(matched) == len(wanted)
    assert paged == [r["resourceArn"] for r in wanted[:600]]
    assert whole == [r["resourceArn"] for r in wanted]


def test_the_snapshot_codec_keeps_every_value_exactly() -> None:
    awkward = {
        **grid_row(ITEMS[0]),
        "name": 'a, "quoted"\nname ünï',
        "tags": '{"k":"v,\\"x\\""}',
        "state": "",
    }
    rows = [awkward, grid_row(ITEMS[1])]
    data = encode_snapshot(rows)
    assert list(decode_snapshot(data)) == rows
    assert table_from_snapshot(data).to_pylist() == rows
    assert table_from_snapshot(encode_snapshot([])).num_rows == 0
    assert list(table_from_snapshot(data).column_names) == list(GRID_FIELDS)
