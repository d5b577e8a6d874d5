from __future__ import annotations

import boto3
import pytest
from inventory_core.aws import AwsClientFactory, endpoint_url
from inventory_core.publisher import MAX_MESSAGE_BYTES, _batches, encode
from inventory_core.settings import DEFAULT_REGIONS, RegionSettings, TableSettings
from inventory_core.timefmt import iso, parse_iso
from inventory_core.topology import RESOURCE_CONSUMER_EVENTS, build_topology
from pydantic import ValidationError

from tests.builders import T0, page, resource


def test_regions_default_to_the_four_trd_regions_and_read_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INVENTORY_REGIONS", raising=False)
    assert RegionSettings().inventory_regions == list(DEFAULT_REGIONS)
    monkeypatch.setenv("INVENTORY_REGIONS", "eu-west-1, us-east-2")
    assert RegionSettings().inventory_regions == ["eu-west-1", "us-east-2"]


def test_missing_resource_name_fails_with_the_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_TABLE_NAME", raising=False)
    with pytest.raises(ValidationError, match="app_table_name"):
        TableSettings()


def test_timestamps_are_fixed_width_so_strings_sort_like_times() -> None:
    assert iso(T0) == "2026-11-25T02:00:00.000000Z"
    assert parse_iso(iso(T0)) == T0
    assert iso(T0.replace(microsecond=5)) > iso(T0)


def test_publish_batches_respect_the_entry_and_byte_limits() -> None:
    small = [page([resource(i)]) for i in range(25)]
    batches = list(_batches([(e, encode(e)) for e in small]))
    assert [len(b) for b in batches] == [10, 10, 5]
    big = page([resource(i) for i in range(300)])
    body = encode(big)
    assert len(body) < MAX_MESSAGE_BYTES
    batches = list(_batches([(big, body)] * 3))
    assert all(sum(len(b[1]) for b in batch) <= MAX_MESSAGE_BYTES for batch in batches)


def test_topology_names_queues_dlqs_and_filter_policies() -> None:
    topo = build_topology("123456789012", "us-east-1", prefix="t1-")
    assert topo.table.name == "t1-nucleus-app-app-table"
    assert topo.topic_name == "t1-inventory-events"
    assert [q.name for q in topo.queues] == ["t1-scan-requests", "t1-ddb-projector", "t1-lake-writer", "t1-archiver"]
    assert all(q.dlq_name == f"{q.name}-dlq" and q.max_receive_count == 5 for q in topo.queues)
    assert topo.scan_requests.filter_policy() is None
    assert topo.consumer("lake-writer").filter_policy() == {"event_type": list(RESOURCE_CONSUMER_EVENTS["lake-writer"])}
    assert build_topology("123456789012", "us-east-1").bucket.name == "nucleus-app-inventory-123456789012-us-east-1"


def test_a_service_endpoint_of_its_own_wins_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # boto3's AWS_ENDPOINT_URL_<SERVICE>, which a client built with an explicit endpoint would otherwise ignore
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:5001")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    factory = AwsClientFactory("us-east-1", boto3.Session(aws_access_key_id="k", aws_secret_access_key="s"))
    assert factory.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:5001"
    assert factory.dynamodb_table("t").meta.client.meta.endpoint_url == "http://127.0.0.1:5001"
    assert factory.client("s3").meta.endpoint_url == "http://127.0.0.1:5000"
    # named by the service id, as boto3 names it, not by the client name
    monkeypatch.setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "http://127.0.0.1:5002")
    assert factory.client("elbv2").meta.endpoint_url == "http://127.0.0.1:5002"
    plain = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    assert plain.client("elbv2").meta.endpoint_url == "http://127.0.0.1:5002"  # boto3 agrees
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert endpoint_url("s3") is None
