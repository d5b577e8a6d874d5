"""One scan end to end on the emulator: fleet -> scanner -> SNS/SQS -> three consumers -> stores -> API."""

from __future__ import annotations

import json
import os

import pytest
from boto3.dynamodb.conditions import Key
from fastapi.testclient import TestClient
from inventory_api.adapters.dynamodb_reader import DynamoDbInventoryReader
from inventory_api.auth import LocalTokenVerifier, mint_local_token
from inventory_api.deps import query_service, token_verifier
from inventory_api.main import create_app
from inventory_api.service import InventoryQueryService
from inventory_cli.fleet import seed_fleet
from inventory_cli.runtime import Consumers, register_accounts, scan_service
from inventory_core.dynamo import query_items
from inventory_core.items import ALL_RESOURCES_GSI1PK, Account, account_key
from inventory_core.settings import IcebergSettings
from inventory_events import ScanRequested
from inventory_lake import load_catalog
from inventory_lake.duck import connect

from tests.conftest import Stack, unique_accounts

pytestmark = pytest.mark.emulator
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]


def dynamodb_arns(stack: Stack) -> set[str]:
    items = query_items(stack.table, IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(ALL_RESOURCES_GSI1PK))
    return {i["resourceArn"] for i in items if i["discoveryStatus"] == "active"}


def iceberg_arns() -> set[str]:
    settings = IcebergSettings()
    location = load_catalog(settings).load_table(f"{settings.iceberg_namespace}.resources").metadata_location
    con = connect()
    rows = con.execute(f"SELECT resource_arn FROM iceberg_scan('{location}') WHERE discovery_status = 'active'")
    return {r[0] for r in rows.fetchall()}


def raw_arns(stack: Stack, accounts: list[str]) -> set[str]:
    s3 = stack.clients.client("s3")
    arns: set[str] = set()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.env["INVENTORY_BUCKET"], Prefix="raw/")["Contents"]]
    assert sorted(k.split("/")[-2] for k in keys) == sorted(accounts)
    for key in keys:
        doc = json.loads(s3.get_object(Bucket=stack.env["INVENTORY_BUCKET"], Key=key)["Body"].read())
        for region, by_type in doc["regions"].items():
            for item in by_type.get("ec2", []):
                arns.add(f"arn:aws:ec2:{region}:{doc['accountId']}:instance/{item['InstanceId']}")
            arns |= {f"arn:aws:s3:::{b['Name']}" for b in by_type.get("s3", [])}
            arns |= {f"arn:aws:ec2:{region}:{doc['accountId']}:vpc/{v['VpcId']}" for v in by_type.get("vpc", [])}
    return arns


def test_one_scan_reaches_every_store_and_the_api(stack: Stack) -> None:
    # GIVEN three target accounts with instances, buckets and VPCs in four regions
    accounts = unique_accounts(3)
    fleet = seed_fleet(
        [(a, f"acct-{i}") for i, a in enumerate(accounts)],
        REGIONS,
        60,
        prefix=stack.topology.prefix,
        types=("ec2", "s3", "vpc"),
    )
    register_accounts(
        stack.clients, stack.env["APP_TABLE_NAME"], [Account(a, f"acct-{i}", True) for i, a in enumerate(accounts)]
    )
    truth = fleet.arns_of("ec2", "s3", "vpc")
    assert len(fleet.arns["ec2"]) >= 12 and len(fleet.arns["s3"]) >= 3

    # WHEN the scanner runs and the consumers drain their queues
    result = scan_service().scan(ScanRequested(execution_id="e2e-1", trigger="cli", requested_by="pytest"))
    Consumers.build(stack.clients, retry_delay_s=0).drain(timeout_s=300)

    # THEN every store holds exactly the fleet
    assert {a.account_id: a.status for a in result.accounts} == dict.fromkeys(accounts, "success")
    assert dynamodb_arns(stack) == truth
    assert iceberg_arns() == truth
    assert raw_arns(stack, accounts) == truth
    for account in accounts:
        item = stack.table.get_item(Key=account_key(account))["Item"]
        assert item["lastSyncStatus"] == "success"
        assert item["lastSyncExecutionId"] == "e2e-1"

    # AND the API pages through them
    app = create_app()
    app.dependency_overrides[query_service] = lambda: InventoryQueryService(DynamoDbInventoryReader(stack.table))
    app.dependency_overrides[token_verifier] = lambda: LocalTokenVerifier(b"e2e-key-" * 8)
    token = mint_local_token(b"e2e-key-" * 8, "pytest", "viewer")
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert client.get("/healthz").json() == {"status": "ok"}
    seen: set[str] = set()
    page = 1
    while True:
        body = client.get("/api/inventory/resources", params={"page": page, "pageSize": 50}).json()
        seen |= {i["resourceArn"] for i in body["items"]}
        if page >= body["pagination"]["totalPages"]:
            break
        page += 1
    assert seen == truth
    assert body["pagination"]["totalItems"] == len(truth)
    ec2_only = client.get("/api/inventory/resources", params={"resourceType": "ec2", "pageSize": 500}).json()
    assert {i["resourceArn"] for i in ec2_only["items"]} == fleet.arns["ec2"]
    assert {a["id"] for a in ec2_only["filters"]["accounts"]} >= set(accounts)
    assert (
        client.get("/api/inventory/resources", params={"pageSize": 100_001}).status_code == 422
    )  # the cap (the UI's virtual grid)
    assert os.environ["APP_TABLE_NAME"].startswith(stack.topology.prefix)
