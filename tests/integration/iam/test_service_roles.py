"""Least privilege, proven: each service's real code path runs under its synthesized role with IAM enforced.

The roles' policies come from the synthesized InventoryStack template (``infra.policies``); the
emulator is moto with enforcement on, made to check resources and trust as AWS does
(``strict_moto.py`` lists what it adds and what it still cannot check). The tests run in file order:
the scan feeds the consumers' queues, the consumers feed the API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from inventory_core.aws import AwsClientFactory
from inventory_core.items import account_pk, scan_status_key
from inventory_core.sqs import SqsLambdaPoller
from inventory_events import ScanRequested

from tests.integration.iam.conftest import World
from tests.integration.iam.harness import DENIED, REGION

pytestmark = pytest.mark.emulator

EXECUTION = f"iam-{uuid.uuid4().hex[:8]}"


def assert_denied(call: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] in DENIED, caught.value.response["Error"]


def _status(world: World, execution_id: str) -> dict[str, Any]:
    table = world.admin_client("dynamodb")
    item = table.get_item(
        TableName=world.topology.table.name, Key={k: {"S": v} for k, v in scan_status_key(execution_id).items()}
    ).get("Item", {})
    return dict(item)


def test_enforcement_is_on_and_the_emulator_checks_resources(iam_world: World) -> None:
    # The default emulator keys are refused, and the admin user is allowed: enforcement is on.
    testing = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with pytest.raises(ClientError) as caught:
        iam_world.client_as("sqs", testing).list_queues()
    assert caught.value.response["Error"]["Code"] in ("InvalidClientTokenId", "403")
    assert iam_world.admin_client("sqs").list_queues()["QueueUrls"]


def test_the_scanner_scans_the_fleet_in_shards_through_the_member_roles(iam_world: World) -> None:
    settings = {
        "INVENTORY_REGIONS": REGION,
        "SCAN_TYPES": "trd",  # the whole catalogue through the member role: test_member_role.py
        "API_MAX_ATTEMPTS": "2",
        "PAGE_MAX_BYTES": "20000",  # the instance with 40 long tags takes the claim-check path
        "SHARD_SIZE": "1",  # one shard per member account, each a `python -m scanner --request` process
        "SHARD_PROCESSES": "2",
        "ROLE_NAME": "NucleusAccess-Inventory",
    }
    with iam_world.as_service("scanner", **settings) as creds:
        from scanner.bootstrap import build_service
        from scanner.settings import ScannerSettings

        service = build_service(ScannerSettings(), AwsClientFactory(REGION))
        # The worker's entry: more accounts than SHARD_SIZE fan out into shards (lock, status, coordinator).
        assert (
            service.handle(ScanRequested(execution_id=EXECUTION, trigger="schedule", requested_by="schedule")) is None
        )

        # Outside its policy the scanner is refused: the audit table, raw/ keys, a role not NucleusAccess-*.
        ddb = iam_world.client_as("dynamodb", creds)
        assert_denied(
            lambda: ddb.get_item(
                TableName=iam_world.topology.audit_table.name, Key={"pk": {"S": "x"}, "sk": {"S": "x"}}
            )
        )
        s3 = iam_world.client_as("s3", creds)
        assert_denied(lambda: s3.put_object(Bucket=iam_world.topology.bucket.name, Key="raw/x.json", Body=b"{}"))
        member = iam_world.members[0].account.account_id
        assert_denied(
            lambda: iam_world.client_as("sts", creds).assume_role(
                RoleArn=f"arn:aws:iam::{member}:role/fn-role", RoleSessionName="denied"
            )
        )

    status = _status(iam_world, EXECUTION)
    assert status, "the execution's STATUS item is missing"
    shards = [json.loads(status[f"shard{i}"]["S"]) for i in range(int(status["shardCount"]["N"]))]
    summaries = {a["account_id"]: a for shard in shards for a in shard["accounts"]}
    assert sorted(summaries) == sorted(m.account.account_id for m in iam_world.members)
    # success = every scope of every catalogue type listed: no call of the scan was refused
    assert {a["status"] for a in summaries.values()} == {"success"}, summaries
    assert all(a["resource_count"] > 0 for a in summaries.values())
    claims = iam_world.admin_client("s3").list_objects_v2(
        Bucket=iam_world.topology.bucket.name, Prefix=f"claims/{EXECUTION}/"
    )
    assert claims.get("KeyCount", 0) >= len(iam_world.members)


def _drain(world: World, service: str, queue_env: str, handler: Callable[..., Any]) -> SqsLambdaPoller:
    poller = SqsLambdaPoller(
        AwsClientFactory(REGION).client("sqs"), world.stack_env[queue_env], handler, batch_size=10, wait_s=0
    )
    for _ in range(200):
        if not poller.poll_once(wait_s=0):
            break
    return poller


def test_the_projector_projects_pages_and_sweeps_under_its_role(iam_world: World) -> None:
    with iam_world.as_service("projector") as creds:
        from ddb_projector.bootstrap import build_service
        from ddb_projector.handler import handle_batch
        from ddb_projector.settings import ProjectorSettings

        projector = build_service(ProjectorSettings(), AwsClientFactory(REGION))
        poller = _drain(iam_world, "projector", "DDB_PROJECTOR_QUEUE_URL", lambda e, c: handle_batch(e, c, projector))
        assert poller.processed > 0 and poller.failed == 0
        s3 = iam_world.client_as("s3", creds)
        assert_denied(lambda: s3.get_object(Bucket=iam_world.topology.bucket.name, Key="raw/x.json"))
        sns = iam_world.client_as("sns", creds)
        assert_denied(lambda: sns.publish(TopicArn=iam_world.stack_env["EVENTS_TOPIC_ARN"], Message="{}"))
    member = iam_world.members[0]
    items = iam_world.admin_client("dynamodb").query(
        TableName=iam_world.topology.table.name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": account_pk(member.account.account_id)}},
    )["Items"]
    assert any(member.instance_id in item["sk"]["S"] for item in items)


def test_the_lake_writer_commits_a_batch_to_s3_tables_under_its_role(iam_world: World) -> None:
    with iam_world.as_service("lake-writer") as creds:
        from lake_writer.bootstrap import build_service
        from lake_writer.handler import handle_batch
        from lake_writer.settings import LakeWriterSettings

        writer = build_service(LakeWriterSettings())
        poller = _drain(iam_world, "lake-writer", "LAKE_WRITER_QUEUE_URL", lambda e, c: handle_batch(e, c, writer))
        assert poller.processed > 0 and poller.failed == 0
        ddb = iam_world.client_as("dynamodb", creds)
        assert_denied(lambda: ddb.scan(TableName=iam_world.topology.table.name))
    with _admin_env(iam_world):
        from inventory_core.settings import IcebergSettings
        from inventory_lake import load_catalog

        table = load_catalog(IcebergSettings()).load_table(f"{iam_world.topology.iceberg_namespace}.resources")
        arns = set(table.scan().to_arrow().column("resource_arn").to_pylist())
    assert any(m.instance_id in arn for m in iam_world.members for arn in arns)


def _admin_env(world: World) -> Any:
    from tests.integration.iam.harness import environment

    return environment(
        {
            "AWS_ENDPOINT_URL": world.server.endpoint,
            **world.stack_env,
            **world.admin,
            "AWS_SESSION_TOKEN": None,
        }
    )


def test_the_archiver_stages_and_assembles_the_raw_documents_under_its_role(iam_world: World) -> None:
    with iam_world.as_service("archiver") as creds:
        from archiver.bootstrap import build_service
        from archiver.handler import handle_batch
        from archiver.settings import ArchiverSettings

        archiver = build_service(ArchiverSettings(), AwsClientFactory(REGION))
        poller = _drain(iam_world, "archiver", "ARCHIVER_QUEUE_URL", lambda e, c: handle_batch(e, c, archiver))
        assert poller.processed > 0 and poller.failed == 0
        s3 = iam_world.client_as("s3", creds)
        assert_denied(lambda: s3.put_object(Bucket=iam_world.topology.bucket.name, Key="exports/x", Body=b"x"))
        assert_denied(lambda: s3.get_object(Bucket=iam_world.topology.bucket.name, Key="exports/x"))
    raw = iam_world.admin_client("s3").list_objects_v2(Bucket=iam_world.topology.bucket.name, Prefix="raw/")
    keys = [o["Key"] for o in raw.get("Contents", [])]
    assert {m.account.account_id for m in iam_world.members} <= {k.split("/")[1] for k in keys} | {
        part for k in keys for part in k.split("/")
    }


def test_every_api_route_works_under_the_api_role(iam_world: World, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from inventory_api import deps
    from inventory_api.auth import load_or_create_local_key, mint_local_token
    from inventory_api.main import create_app

    member = iam_world.members[0]
    new_account = "210987654321"
    with iam_world.as_service(
        "api",
        AUTH_MODE="local",
        AUTH_LOCAL_KEY_FILE=str(tmp_path / "auth.key"),
        RATE_LIMIT_STORE="dynamodb",
        RATE_LIMIT_PER_MINUTE="10000",
        READ_MODEL_TTL_S="0",
        READ_MODEL_STALE_S="0",
    ) as creds:
        deps.reset()
        try:
            app = create_app()
            client = TestClient(app, raise_server_exceptions=False)
            token = mint_local_token(load_or_create_local_key(tmp_path / "auth.key"), "ada", "admin")
            admin = {"Authorization": f"Bearer {token}"}
            grid = client.get("/api/inventory/resources", params={"pageSize": 500}, headers=admin)
            assert grid.status_code == 200, (grid.text, iam_world.refusals()[-5:])
            instance_arn = next(
                r["resourceArn"] for r in grid.json()["items"] if member.instance_id in r["resourceArn"]
            )
            calls: dict[tuple[str, str], Callable[[], Any]] = {
                ("get", "/healthz"): lambda: client.get("/healthz"),
                ("get", "/api/inventory/config"): lambda: client.get("/api/inventory/config"),
                ("get", "/api/inventory/me"): lambda: client.get("/api/inventory/me", headers=admin),
                ("get", "/api/inventory/resources"): lambda: client.get("/api/inventory/resources", headers=admin),
                ("get", "/api/inventory/resources/{resourceArn}"): lambda: client.get(
                    f"/api/inventory/resources/{instance_arn}", headers=admin
                ),
                ("post", "/api/inventory/resources/export"): lambda: client.post(
                    "/api/inventory/resources/export", json={}, headers=admin
                ),
                ("get", "/api/inventory/resource-history/{resourceArn}"): lambda: client.get(
                    f"/api/inventory/resource-history/{instance_arn}", headers=admin
                ),
                ("get", "/api/inventory/status"): lambda: client.get("/api/inventory/status", headers=admin),
                ("get", "/api/inventory/analytics/summary"): lambda: client.get(
                    "/api/inventory/analytics/summary", headers=admin
                ),
                ("post", "/api/inventory/sync"): lambda: client.post(
                    "/api/inventory/sync", json={"accountId": member.account.account_id}, headers=admin
                ),
                ("get", "/api/inventory/sync"): lambda: client.get("/api/inventory/sync", headers=admin),
                ("get", "/api/inventory/sync/{executionId}"): lambda: client.get(
                    f"/api/inventory/sync/{EXECUTION}", headers=admin
                ),
                ("get", "/api/inventory/accounts"): lambda: client.get("/api/inventory/accounts", headers=admin),
                ("post", "/api/inventory/accounts"): lambda: client.post(
                    "/api/inventory/accounts",
                    json={"accountId": new_account, "accountName": "new", "externalId": "ext-new-1234"},
                    headers=admin,
                ),
                ("patch", "/api/inventory/accounts/{accountId}"): lambda: client.patch(
                    f"/api/inventory/accounts/{new_account}", json={"accountName": "renamed"}, headers=admin
                ),
                ("post", "/api/inventory/accounts/{accountId}/check"): lambda: client.post(
                    f"/api/inventory/accounts/{member.account.account_id}/check", headers=admin
                ),
                ("delete", "/api/inventory/accounts/{accountId}"): lambda: client.delete(
                    f"/api/inventory/accounts/{new_account}", headers=admin
                ),
                ("get", "/api/inventory/audit"): lambda: client.get("/api/inventory/audit", headers=admin),
            }
            routes = {(m, p) for p, ops in app.openapi()["paths"].items() for m in ops}
            assert routes == set(calls), f"routes without a least-privilege check: {sorted(routes - set(calls))}"
            answers = {route: call() for route, call in calls.items()}
            failed = {route: (r.status_code, r.text[:300]) for route, r in answers.items() if r.status_code >= 300}
            assert not failed, (failed, iam_world.refusals()[-10:])
            check = answers[("post", "/api/inventory/accounts/{accountId}/check")].json()
            # The member role trusts only the scanner (AccessCheckRoleArn not given): the API is refused, and says so.
            assert {r["status"] for r in check["results"]} == {"access_denied"}, check
            export = answers[("post", "/api/inventory/resources/export")].json()
            key = export["downloadUrl"].split("?")[0].split(f"{iam_world.topology.bucket.name}/", 1)[1]
            assert key.startswith("exports/")

            s3 = iam_world.client_as("s3", creds)
            assert_denied(lambda: s3.get_object(Bucket=iam_world.topology.bucket.name, Key="raw/x.json"))
            sqs = iam_world.client_as("sqs", creds)
            assert_denied(
                lambda: sqs.receive_message(QueueUrl=iam_world.stack_env["SCAN_REQUESTS_QUEUE_URL"], WaitTimeSeconds=0)
            )
            ddb = iam_world.client_as("dynamodb", creds)
            assert_denied(
                lambda: ddb.delete_item(
                    TableName=iam_world.topology.audit_table.name, Key={"pk": {"S": "x"}, "sk": {"S": "x"}}
                )
            )
        finally:
            deps.reset()
    # the export is in exports/ (read with the admin user: the presigned URL is the API role's signature)
    head = iam_world.admin_client("s3").head_object(Bucket=iam_world.topology.bucket.name, Key=key)
    assert head["ServerSideEncryption"] == "AES256"


def test_the_scanner_worker_takes_the_api_sync_request_under_its_role(iam_world: World) -> None:
    with iam_world.as_service("scanner", INVENTORY_REGIONS=REGION, SCAN_TYPES="ec2", API_MAX_ATTEMPTS="2"):
        from scanner.bootstrap import build_service
        from scanner.settings import ScannerSettings
        from scanner.worker import ScanRequestWorker

        clients = AwsClientFactory(REGION)
        worker = ScanRequestWorker(
            clients.client("sqs"),
            iam_world.stack_env["SCAN_REQUESTS_QUEUE_URL"],
            build_service(ScannerSettings(), clients),
        )
        assert worker.poll_once(wait_s=1) == 1
    queue = iam_world.admin_client("sqs").get_queue_attributes(
        QueueUrl=iam_world.stack_env["SCAN_REQUESTS_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert queue["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_request_that_could_not_start_a_task_is_ended_under_the_launch_failed_role(iam_world: World) -> None:
    # GIVEN a scan request the launcher could not start, redriven to the scan-requests DLQ
    sqs = iam_world.admin_client("sqs")
    dlq = sqs.get_queue_url(QueueName=iam_world.topology.scan_requests.dlq_name)["QueueUrl"]
    member = iam_world.members[0].account.account_id
    request = ScanRequested(execution_id=f"{EXECUTION}-lost", account_ids=[member], trigger="api", requested_by="ada")
    sqs.send_message(QueueUrl=dlq, MessageBody=request.model_dump_json())
    # WHEN the launch-failure function takes it under its role
    with iam_world.as_service("launch-failed") as creds:
        from inventory_core.publisher import SnsEventPublisher
        from scanner.adapters.accounts import DynamoDbAccountDirectory
        from scanner.launch_failed import handle_records

        clients = AwsClientFactory(REGION)
        accounts = DynamoDbAccountDirectory(clients.dynamodb_table(iam_world.topology.table.name))
        publisher = SnsEventPublisher(clients.client("sns"), iam_world.stack_env["EVENTS_TOPIC_ARN"])
        poller = SqsLambdaPoller(
            clients.client("sqs"), dlq, lambda event, _context: handle_records(event, accounts, publisher), wait_s=0
        )
        assert poller.poll_once(wait_s=0) == 1
        # THEN it ended the execution (nothing retried) and may do nothing else
        assert poller.failed == 0 and poller.processed == 1
        assert_denied(
            lambda: iam_world.client_as("dynamodb", creds).put_item(
                TableName=iam_world.topology.table.name, Item={"pk": {"S": "x"}, "sk": {"S": "x"}}
            )
        )
