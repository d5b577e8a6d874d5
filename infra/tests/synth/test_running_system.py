"""The synthesized template holds every running piece, each read from the topology and wired to the
stack's own resources (issue 10 part 2): scanner task, schedule, launcher, consumers, API, lake, alarms."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from infra.constructs.lake import LAKE_TABLES
from infra.constructs.monitoring import TRD_ALARMS
from infra.stacks.inventory_stack import BUCKET_EXPIRY_DAYS, LAKE_WRITER_CONCURRENCY, NONCURRENT_DAYS_BY_PREFIX
from inventory_core.topology import METRICS_NAMESPACE, SCAN_SCHEDULE_EXPRESSION, Topology, build_topology

ACCOUNT = "123456789012"  # the session synth's env (conftest.py)
REGION = "us-east-1"


@pytest.fixture(scope="module")
def topology() -> Topology:
    return build_topology(ACCOUNT, REGION)


def _one(template: Template, type_: str, props: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(type_, {"Properties": Match.object_like(props)} if props else None)
    assert len(found) == 1, f"expected one {type_} with {props}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, resource.get("Properties", {})


def _id(template: Template, type_: str, props: dict[str, Any]) -> str:
    return _one(template, type_, props)[0]


def _env(props: dict[str, Any]) -> dict[str, Any]:
    return dict(props["Environment"]["Variables"])


def test_scanner_task_definition_is_trd_5_1(template: Template) -> None:
    _, task = _one(template, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == ("1024", "2048")
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    [container] = task["ContainerDefinitions"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    log_group_id = container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})
    assert template.to_json()["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 90


def test_scanner_environment_comes_from_the_stacks_own_resources(template: Template, topology: Topology) -> None:
    table_id = _id(template, "AWS::DynamoDB::Table", {"TableName": topology.table.name})
    topic_id = _id(template, "AWS::SNS::Topic", {"TopicName": topology.topic_name})
    bucket_id = _id(template, "AWS::S3::Bucket", {"BucketName": topology.bucket.name})
    _, task = _one(template, "AWS::ECS::TaskDefinition")
    env = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}
    assert env["APP_TABLE_NAME"] == {"Ref": table_id}
    assert env["EVENTS_TOPIC_ARN"] == {"Ref": topic_id}
    assert env["INVENTORY_BUCKET"] == {"Ref": bucket_id}
    assert env["SHARD_LAUNCHER"] == "ecs"
    assert env["ECS_ASSIGN_PUBLIC_IP"] == "true"
    assert env["EMIT_METRICS"] == "true"
    assert env["METRICS_NAMESPACE"] == METRICS_NAMESPACE
    # the scanner's peak RSS at 100k resources (README Scanner): 2 arenas and a fixed 128 KiB mmap threshold
    assert (env["MALLOC_ARENA_MAX"], env["MALLOC_MMAP_THRESHOLD_"]) == ("2", "131072")
    assert "SCAN_REQUESTS_QUEUE_URL" not in env  # a task is one scan; the launcher, not a worker, reads the queue


def test_scanner_runs_in_public_subnets_without_nat_and_without_inbound(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    _, group = _one(template, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in group
    egress = [(e["IpProtocol"], e["FromPort"], e["ToPort"], e["CidrIp"]) for e in group["SecurityGroupEgress"]]
    assert egress == [("tcp", 443, 443, "0.0.0.0/0")]
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    assert len(endpoints) == 2  # S3 and DynamoDB gateway endpoints (free)


def test_daily_schedule_runs_the_task_at_the_topology_expression(template: Template) -> None:
    cluster_id = _id(template, "AWS::ECS::Cluster", {})
    task_id = _id(template, "AWS::ECS::TaskDefinition", {})
    _, schedule = _one(template, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == SCAN_SCHEDULE_EXPRESSION == "cron(0 2 * * ? *)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [cluster_id, "Arn"]}
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": task_id}
    assert target["EcsParameters"]["LaunchType"] == "FARGATE"
    assert target["EcsParameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"


def test_each_scan_request_becomes_a_task_with_the_request_as_override(template: Template, topology: Topology) -> None:
    queue_id = _id(template, "AWS::SQS::Queue", {"QueueName": topology.scan_requests.name})
    cluster_id = _id(template, "AWS::ECS::Cluster", {})
    _, pipe = _one(template, "AWS::Pipes::Pipe")
    assert pipe["Source"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert pipe["SourceParameters"] == {"SqsQueueParameters": {"BatchSize": 1}}
    assert pipe["Target"] == {"Fn::GetAtt": [cluster_id, "Arn"]}
    ecs = pipe["TargetParameters"]["EcsTaskParameters"]
    assert ecs["Overrides"]["ContainerOverrides"] == [
        {"Name": "scanner", "Environment": [{"Name": "SCAN_REQUEST", "Value": "$.body"}]}
    ]


def test_a_request_that_cannot_start_a_task_is_ended_by_the_dlq_function(template: Template, synth: Any) -> None:
    dlq_id = _id(template, "AWS::SQS::Queue", {"QueueName": build_topology(ACCOUNT, REGION).scan_requests.dlq_name})
    function_id, function = _one(template, "AWS::Lambda::Function", {"Handler": "scanner.launch_failed.lambda_handler"})
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "FunctionName": {"Ref": function_id},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    assert function["Timeout"] < 30  # below the DLQ's visibility timeout
    assert "inventory-scanner" in synth.bundles


@pytest.mark.parametrize("purpose", ["ddb-projector", "lake-writer", "archiver"])
def test_consumers_take_their_queue_with_the_topology_batching(
    template: Template, topology: Topology, purpose: str
) -> None:
    spec = topology.consumer(purpose)
    queue_id = _id(template, "AWS::SQS::Queue", {"QueueName": spec.name})
    function_id, function = _one(template, "AWS::Lambda::Function", {"FunctionName": f"inventory-{purpose}"})
    assert function["Architectures"] == ["arm64"]
    assert function["Timeout"] < spec.visibility_timeout_s
    mapping = {
        "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
        "FunctionName": {"Ref": function_id},
        "BatchSize": spec.batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumBatchingWindowInSeconds": spec.batching_window_s or Match.absent(),
    }
    template.has_resource_properties("AWS::Lambda::EventSourceMapping", mapping)


def test_archiver_is_a_zip_and_the_projector_and_lake_writer_images(template: Template, synth: Any) -> None:
    _, archiver = _one(template, "AWS::Lambda::Function", {"FunctionName": "inventory-archiver"})
    assert archiver["Runtime"] == "python3.11"
    assert archiver["Handler"] == "archiver.handler.lambda_handler"
    assert "inventory-archiver" in synth.bundles
    assert "inventory-ddb-projector" not in synth.bundles
    for purpose, module in (("ddb-projector", "ddb_projector"), ("lake-writer", "lake_writer")):
        _, function = _one(template, "AWS::Lambda::Function", {"FunctionName": f"inventory-{purpose}"})
        assert function["PackageType"] == "Image"
        assert function["ImageConfig"] == {"Command": [f"{module}.handler.lambda_handler"]}


def test_lake_writer_commits_never_race_more_than_the_reservation(template: Template) -> None:
    function_id, lake = _one(template, "AWS::Lambda::Function", {"FunctionName": "inventory-lake-writer"})
    assert lake["ReservedConcurrentExecutions"] == LAKE_WRITER_CONCURRENCY
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionName": {"Ref": function_id}, "ScalingConfig": {"MaximumConcurrency": LAKE_WRITER_CONCURRENCY}},
    )


def test_consumer_environments_name_the_stacks_resources(template: Template, topology: Topology) -> None:
    table_id = _id(template, "AWS::DynamoDB::Table", {"TableName": topology.table.name})
    bucket_id = _id(template, "AWS::S3::Bucket", {"BucketName": topology.bucket.name})
    table_bucket_id = _id(template, "AWS::S3Tables::TableBucket", {})
    _, projector = _one(template, "AWS::Lambda::Function", {"FunctionName": "inventory-ddb-projector"})
    assert _env(projector)["APP_TABLE_NAME"] == {"Ref": table_id}
    assert _env(projector)["INVENTORY_BUCKET"] == {"Ref": bucket_id}  # it publishes the API's grid snapshot there
    _, archiver = _one(template, "AWS::Lambda::Function", {"FunctionName": "inventory-archiver"})
    assert _env(archiver)["INVENTORY_BUCKET"] == {"Ref": bucket_id}
    _, lake = _one(template, "AWS::Lambda::Function", {"FunctionName": "inventory-lake-writer"})
    assert _env(lake)["ICEBERG_CATALOG_TYPE"] == "s3tables"
    assert _env(lake)["ICEBERG_TABLE_BUCKET_ARN"] == {"Fn::GetAtt": [table_bucket_id, "TableBucketARN"]}


def test_api_is_an_arm64_image_with_oidc_and_dynamodb_rate_limits(template: Template, topology: Topology) -> None:
    pool_id = _id(template, "AWS::Cognito::UserPool", {})
    client_id = _id(template, "AWS::Cognito::UserPoolClient", {})
    _, api = _one(template, "AWS::Lambda::Function", {"FunctionName": "inventory-api"})
    assert api["PackageType"] == "Image"
    assert api["Architectures"] == ["arm64"]
    assert api["Timeout"] <= 29
    env = _env(api)
    assert env["AUTH_MODE"] == "oidc"
    assert env["RATE_LIMIT_STORE"] == "dynamodb"
    assert env["OIDC_AUDIENCE"] == env["OIDC_CLIENT_ID"] == {"Ref": client_id}
    assert {"Ref": pool_id} in env["OIDC_ISSUER"]["Fn::Join"][1]
    for key in ("OIDC_JWKS_URL", "OIDC_AUTHORIZE_URL", "OIDC_TOKEN_URL", "WEB_DIST_DIR", "SCAN_REQUESTS_QUEUE_URL"):
        assert env[key], key
    table_id = _id(template, "AWS::DynamoDB::Table", {"TableName": topology.table.name})
    audit_id = _id(template, "AWS::DynamoDB::Table", {"TableName": topology.audit_table.name})
    assert (env["APP_TABLE_NAME"], env["AUDIT_TABLE_NAME"]) == ({"Ref": table_id}, {"Ref": audit_id})


def test_cognito_has_the_three_roles_and_a_pkce_client_without_secret(template: Template) -> None:
    groups = template.find_resources("AWS::Cognito::UserPoolGroup")
    assert sorted(g["Properties"]["GroupName"] for g in groups.values()) == ["admin", "operator", "viewer"]
    _, client = _one(template, "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    [callback] = client["CallbackURLs"]  # the UI's redirect_uri is its own origin + "/" (web/src/auth.ts)
    assert callback["Fn::Join"][1][-1] == "/"
    _, pool = _one(template, "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_every_api_route_but_the_ui_and_its_config_needs_a_cognito_jwt(template: Template) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }
    assert routes["ANY /api/{proxy+}"]["AuthorizationType"] == "JWT"
    public = {key for key, route in routes.items() if route["AuthorizationType"] == "NONE"}
    assert public == {"GET /api/inventory/config", "GET /{proxy+}", "GET /"}
    _, authorizer = _one(template, "AWS::ApiGatewayV2::Authorizer")
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["JwtConfiguration"]["Audience"] == [{"Ref": _id(template, "AWS::Cognito::UserPoolClient", {})}]


def test_lake_tables_are_the_writers_own_schemas(template: Template, topology: Topology) -> None:
    _, namespace = _one(template, "AWS::S3Tables::Namespace")
    assert namespace["Namespace"] == topology.iceberg_namespace
    tables = {
        t["Properties"]["TableName"]: t["Properties"] for t in template.find_resources("AWS::S3Tables::Table").values()
    }
    assert set(tables) == {name for name, _, _ in LAKE_TABLES}
    for name, schema, spec in LAKE_TABLES:
        metadata = tables[name]["IcebergMetadata"]
        fields = metadata["IcebergSchemaV2"]["SchemaV2FieldList"]
        assert [(f["Id"], f["Name"], f["Required"]) for f in fields] == [
            (f.field_id, f.name, f.required) for f in schema.fields
        ]
        partition = metadata.get("IcebergPartitionSpec", {}).get("Fields", [])
        assert [(p["SourceId"], p["Transform"]) for p in partition] == [
            (p.source_id, str(p.transform)) for p in spec.fields
        ]
    assert tables["resource_history"]["IcebergMetadata"]["IcebergPartitionSpec"]["Fields"][0]["Transform"] == "day"
    resources_tags = next(
        f for f in tables["resources"]["IcebergMetadata"]["IcebergSchemaV2"]["SchemaV2FieldList"] if f["Name"] == "tags"
    )
    assert resources_tags["Type"]["type"] == "map"


def test_athena_workgroup_writes_encrypted_results_to_an_expiring_bucket(template: Template) -> None:
    _, workgroup = _one(template, "AWS::Athena::WorkGroup")
    config = workgroup["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Match.string_like_regexp("athena-results"),
            "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"ExpirationInDays": 30})])},
        },
    )


def test_every_growing_prefix_expires_and_old_versions_go(template: Template, topology: Topology) -> None:
    assert set(BUCKET_EXPIRY_DAYS) == {"staging/", "claims/", "exports/"}
    _, bucket = _one(template, "AWS::S3::Bucket", {"BucketName": topology.bucket.name})
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = bucket["LifecycleConfiguration"]["Rules"]
    by_prefix = {r.get("Prefix"): r for r in rules}
    assert by_prefix[topology.bucket.raw_prefix]["ExpirationInDays"] == 365
    for prefix, days in BUCKET_EXPIRY_DAYS.items():
        assert by_prefix[prefix]["ExpirationInDays"] == days
    noncurrent = {
        r.get("Prefix"): r["NoncurrentVersionExpiration"]["NoncurrentDays"]
        for r in rules
        if "NoncurrentVersionExpiration" in r
    }
    assert noncurrent[None] == topology.bucket.noncurrent_version_expiration_days == 30  # the whole bucket
    assert noncurrent["readmodel/"] == NONCURRENT_DAYS_BY_PREFIX["readmodel/"] == 1


def test_trd_alarms_watch_the_one_namespace_with_the_trd_thresholds(template: Template) -> None:
    expected = {
        "ScanDuration": 14 * 60 * 1000,
        "AccountErrors": 2,
        "S3UploadFailures": 5,
        "ResourceCountDelta": 20,
    }
    assert {row.metric for row in TRD_ALARMS} == set(expected)
    for metric, threshold in expected.items():
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Namespace": METRICS_NAMESPACE,
                "MetricName": metric,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"MetricName": "AccountErrors", "Period": 86400, "Statistic": "Sum"}
    )


def test_pipeline_alarms_cover_dlqs_queue_age_function_errors_and_failed_tasks(
    template: Template, topology: Topology
) -> None:
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()]
    by_metric: dict[str, int] = {}
    for alarm in alarms:
        by_metric[alarm.get("MetricName", "")] = by_metric.get(alarm.get("MetricName", ""), 0) + 1
    assert by_metric["ApproximateNumberOfMessagesVisible"] == len(topology.queues)  # one per DLQ
    assert by_metric["ApproximateAgeOfOldestMessage"] == len(topology.queues)
    assert by_metric["Errors"] == 5  # three consumers, the launch-failure function, the API
    assert by_metric["TriggeredRules"] == 1  # scanner tasks that stopped with a non-zero exit code
    topic_id = _id(template, "AWS::SNS::Topic", {"TopicName": "inventory-alarms"})
    assert all(alarm["AlarmActions"] == [{"Ref": topic_id}] for alarm in alarms)
    _, rule = _one(template, "AWS::Events::Rule")
    assert rule["EventPattern"]["detail"]["lastStatus"] == ["STOPPED"]
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.resource_count_is("AWS::SNS::Subscription", len(topology.consumers))  # no e-mail unless asked


def test_outputs_name_what_the_services_and_operators_need(template: Template) -> None:
    outputs = set(template.to_json()["Outputs"])
    for name in (
        "AppTableName",
        "TopicArn",
        "ScanRequestsQueueUrl",
        "InventoryBucketName",
        "TableBucketArn",
        "AthenaWorkgroup",
        "ScannerCluster",
        "AlarmTopicArn",
        "ScannerRoleArn",
    ):
        assert name in outputs
    assert any(name.startswith("ApiUrl") for name in outputs)
