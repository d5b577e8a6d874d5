"""The read model: a published snapshot plus the change journal, refreshed on the request path (no threads)."""

from __future__ import annotations

import random

import pytest
from inventory_api.ports import StoreError
from inventory_api.readmodel import (
    GAP_WAIT_S,
    ReadModel,
    ResultKey,
    Snapshot,
    table_from_snapshot,
)
from inventory_api.service import InventoryQueryService, ResourceQuery
from inventory_core.grid import GRID_FIELDS, grid_row
from inventory_core.grid_arrow import encode_table, table_from_rows
from inventory_core.items import Account, account_pk

from tests.fakes.api import InMemoryChangeJournal, InMemoryInventoryReader, InMemorySnapshotSource, resource_item

A, B = "111111111111", "222222222222"
ITEMS = [resource_item(n, account=A if n % 2 else B, rtype="ec2" if n < 30 else "s3") for n in range(40)]
ACCOUNTS = [Account(A, "Prod", True), Account(B, "Dev", True)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def model_with(
    journal: InMemoryChangeJournal, snapshots: InMemorySnapshotSource, clock: Clock, **kwargs: float
) -> tuple[InMemoryInventoryReader, ReadModel, InventoryQueryService]:
    reader = InMemoryInventoryReader.of(ITEMS, ACCOUNTS)
    model = ReadModel(reader, snapshots=snapshots, journal=journal, accounts=reader, clock=clock, **kwargs)
    return reader, model, InventoryQueryService(reader, read_model=model)


def published(journal: InMemoryChangeJournal, rows: list[dict[str, str]] | None = None) -> InMemorySnapshotSource:
    """A snapshot of ITEMS holding every journal entry written so far (its watermark)."""
    source = InMemorySnapshotSource()
    source.publish(rows if rows is not None else [grid_row(i) for i in ITEMS], journal.last)
    return source


def status_of(svc: InventoryQueryService, arn: str) -> str:
    found = svc.list_resources(ResourceQuery(search=arn, page_size=5)).items
    return found[0].discoveryStatus if found else "absent"


def missing(item: dict[str, object]) -> dict[str, str]:
    return {**grid_row(item), "discoveryStatus": "missing"}


def test_a_cold_model_answers_from_the_snapshot_plus_the_journal_without_reading_the_table() -> None:
    # GIVEN entries already in the snapshot, then (after its watermark) one resource marked missing and one new
    journal, clock = InMemoryChangeJournal(), Clock()
    journal.write(missing(ITEMS[5]))  # up to the watermark: taken as in the snapshot, never re-applied
    snapshots = published(journal)
    gone, new = ITEMS[3], grid_row(resource_item(99, account=A))
    journal.write(missing(gone))
    journal.write(new)
    reader, _, svc = model_with(journal, snapshots, clock, ttl_s=60)

    # WHEN the first request arrives
    page = svc.list_resources(ResourceQuery(page_size=500))

    # THEN totals are exact, both later changes show, the entry up to the watermark is not re-applied,
    # and no resource was read from the table
    assert page.pagination.totalItems == 41
    assert status_of(svc, str(gone["resourceArn"])) == "missing"
    assert status_of(svc, str(ITEMS[5]["resourceArn"])) == "active"
    assert new["resourceArn"] in {i.resourceArn for i in page.items}
    assert reader.loads == 0


def test_a_warm_model_shows_a_journal_change_within_the_refresh_interval() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    _, model, svc = model_with(journal, published(journal), clock, ttl_s=60, refresh_s=1.0)
    arn = str(ITEMS[7]["resourceArn"])
    assert status_of(svc, arn) == "active"
    reads = journal.reads

    # WHEN the projector marks it missing
    journal.write(missing(ITEMS[7]))

    # THEN within the refresh interval the current version answers without a read; after it, the change shows
    clock.now += 0.5
    assert status_of(svc, arn) == "active"
    assert journal.reads == reads
    clock.now += 0.6
    assert status_of(svc, arn) == "missing"
    assert model.loads == 1  # the snapshot was read once


def test_a_number_reserved_before_a_later_one_is_applied_when_it_lands_and_never_overrides_the_later_one() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    _, _, svc = model_with(journal, published(journal), clock, ttl_s=60, refresh_s=0)
    first, second = ITEMS[9], ITEMS[11]
    slow = journal.reserve()  # a writer reserved its number, then another one wrote first
    journal.write(missing(first))
    assert status_of(svc, str(first["resourceArn"])) == "missing"
    assert status_of(svc, str(second["resourceArn"])) == "active"
    # WHEN the slow writer lands: an older version of the first resource, and a change of the second
    journal.fill(slow, {**grid_row(first), "state": "older"}, missing(second))
    clock.now += 1
    # THEN the gap is read again: its change of the second shows; the first keeps its newer version
    assert status_of(svc, str(second["resourceArn"])) == "missing"
    assert status_of(svc, str(first["resourceArn"])) == "missing"


def test_a_number_never_written_is_given_up_after_a_minute() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    _, model, svc = model_with(journal, published(journal), clock, ttl_s=600, refresh_s=0)
    journal.reserve()  # a writer that crashed before writing
    svc.list_resources(ResourceQuery())
    assert model._gaps
    clock.now += GAP_WAIT_S + 1
    svc.list_resources(ResourceQuery())
    assert not model._gaps


def test_a_newer_snapshot_replaces_the_base_after_the_ttl_and_an_unchanged_one_is_not_reloaded() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    snapshots = published(journal)
    _, model, svc = model_with(journal, snapshots, clock, ttl_s=60)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    clock.now += 61
    svc.list_resources(ResourceQuery())
    assert (model.loads, snapshots.fetches) == (1, 2)  # asked again, told unchanged

    snapshots.publish([grid_row(i) for i in ITEMS[:25]], journal.last)
    clock.now += 30
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40  # within the ttl: no new look
    clock.now += 31
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 25
    assert model.loads == 2


def test_without_a_published_snapshot_the_table_is_read_and_the_journal_applied_on_top() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    reader, _, svc = model_with(journal, InMemorySnapshotSource(), clock, ttl_s=60, refresh_s=0)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    assert reader.loads == 1
    journal.write(grid_row(resource_item(77, account=A)))
    clock.now += 1
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 41
    assert reader.loads == 1


def test_a_failed_refresh_keeps_serving_the_current_version_and_a_cold_failure_is_an_error() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    _, _, svc = model_with(journal, published(journal), clock, ttl_s=60, refresh_s=0)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    journal.fail = True
    clock.now += 5
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40

    cold_snapshots = published(journal)
    cold_snapshots.fail = True
    _, _, cold = model_with(InMemoryChangeJournal(), cold_snapshots, Clock(), ttl_s=60)
    with pytest.raises(StoreError):
        cold.list_resources(ResourceQuery())


def test_resources_of_unregistered_accounts_are_hidden_and_invalidate_re_reads_the_accounts() -> None:
    journal, clock = InMemoryChangeJournal(), Clock()
    reader, model, svc = model_with(journal, published(journal), clock, ttl_s=600)
    assert svc.list_resources(ResourceQuery()).pagination.totalItems == 40
    reader.accounts = [a for a in reader.accounts if a["pk"] == account_pk(A)]
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
    data = encode_table(table_from_rows(rows))
    assert table_from_snapshot(data).to_pylist() == rows
    assert table_from_snapshot(encode_table(table_from_rows([]))).num_rows == 0
    assert list(table_from_snapshot(data).column_names) == list(GRID_FIELDS)


def test_search_matches_within_one_row_only_and_ignores_case() -> None:
    rows = [grid_row(resource_item(n, account=A, name=name)) for n, name in enumerate(["Alpha-web", "beta", "webX"])]
    snap = Snapshot(table_from_rows(rows), [Account(A, "Prod", True).to_item()], loaded_at=0)

    def found(needle: str) -> list[str]:
        return [snap.rows[i]["name"] for i in snap.matching(ResultKey((), (), (), (), needle, "name", "asc"))]

    assert found("web") == ["Alpha-web", "webX"]
    assert found("alpha-web") == ["Alpha-web"]
    assert found("000001") == ["beta"]  # the id
    last_arn_tail = rows[1]["resourceArn"][-3:].lower()
    assert found(last_arn_tail + "webx") == []  # across the end of row 1 and the start of row 2
    assert found("nothing") == []
