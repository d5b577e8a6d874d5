"""Idempotent provisioning of the topology on the emulator (or any AWS endpoint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from inventory_core.aws import AwsClientFactory
from inventory_core.settings import IcebergSettings
from inventory_core.topology import QueueSpec, TableSpec, Topology
from inventory_lake import ensure_tables, load_catalog


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def create_table(clients: AwsClientFactory, spec: TableSpec) -> None:
    ddb = clients.client("dynamodb")
    keys = {spec.pk, spec.sk, *(g.pk for g in spec.gsis), *(g.sk for g in spec.gsis)}
    kwargs: dict[str, Any] = {
        "TableName": spec.name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": spec.pk, "KeyType": "HASH"}, {"AttributeName": spec.sk, "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in sorted(keys)],
        "SSESpecification": {"Enabled": True},
    }
    if spec.gsis:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g.name,
                "KeySchema": [{"AttributeName": g.pk, "KeyType": "HASH"}, {"AttributeName": g.sk, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for g in spec.gsis
        ]
    try:
        ddb.create_table(**kwargs)
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=spec.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    if spec.ttl_attribute:
        ttl = ddb.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def create_queue(clients: AwsClientFactory, spec: QueueSpec) -> tuple[str, str]:
    """Create the queue and its DLQ with redrive; returns (queue url, queue arn)."""
    sqs = clients.client("sqs")
    dlq_url = sqs.create_queue(QueueName=spec.dlq_name)["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=dlq_url,
        Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_s), "SqsManagedSseEnabled": "true"},
    )
    url = sqs.create_queue(QueueName=spec.name)["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_s),
            "ReceiveMessageWaitTimeSeconds": str(spec.receive_wait_s),
            "MessageRetentionPeriod": str(spec.retention_s),
            "SqsManagedSseEnabled": "true",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(spec.max_receive_count)}
            ),
        },
    )
    return url, _queue_arn(sqs, url)


def _allow_topic(sqs: Any, url: str, queue_arn: str, topic_arn: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def subscribe(clients: AwsClientFactory, topic_arn: str, spec: QueueSpec, url: str, queue_arn: str) -> None:
    sns = clients.client("sns")
    _allow_topic(clients.client("sqs"), url, queue_arn, topic_arn)
    existing = [
        s
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        for s in page["Subscriptions"]
        if s["Endpoint"] == queue_arn
    ]
    attributes = {"RawMessageDelivery": "true", "FilterPolicy": json.dumps(spec.filter_policy())}
    if existing:
        for name, value in attributes.items():
            sns.set_subscription_attributes(
                SubscriptionArn=existing[0]["SubscriptionArn"], AttributeName=name, AttributeValue=value
            )
        return
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes, ReturnSubscriptionArn=True
    )


def create_bucket(
    clients: AwsClientFactory,
    name: str,
    *,
    raw_prefix: str | None,
    raw_days: int,
    versioned: bool = False,
    noncurrent_days: int = 0,
) -> None:
    """A private SSE-S3 bucket; with ``raw_prefix`` its objects there expire after ``raw_days``.

    ``versioned`` keeps every overwritten or deleted object as a noncurrent version for ``noncurrent_days``,
    so a bad write to the raw archive can be undone.
    """
    s3 = clients.client("s3")
    kwargs: dict[str, Any] = {"Bucket": name}
    if clients.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": clients.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    rules: list[dict[str, Any]] = []
    if raw_prefix:
        rules.append(
            {
                "ID": "expire-raw",
                "Filter": {"Prefix": raw_prefix},
                "Status": "Enabled",
                "Expiration": {"Days": raw_days},
            }
        )
    if versioned and noncurrent_days:
        rules.append(
            {
                "ID": "expire-noncurrent-versions",
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
                "Expiration": {"ExpiredObjectDeleteMarker": True},
            }
        )
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})


def create_table_bucket(clients: AwsClientFactory, name: str) -> str:
    """Create the S3 Tables table bucket if missing; return its ARN."""
    s3tables = clients.client("s3tables")
    for page in s3tables.get_paginator("list_table_buckets").paginate():
        for bucket in page.get("tableBuckets", []):
            if bucket["name"] == name:
                return str(bucket["arn"])
    return str(s3tables.create_table_bucket(name=name)["arn"])


def provision(clients: AwsClientFactory, topo: Topology, *, state_dir: Path, catalog: str = "sql") -> dict[str, str]:
    """Create everything in ``topo`` (safe to run again); return the environment the services read.

    ``catalog`` picks the Iceberg catalog: ``sql`` (SQLite file + warehouse in the lake bucket) or
    ``s3tables`` (a table bucket through the S3 Tables API).
    """
    create_table(clients, topo.table)
    create_table(clients, topo.audit_table)
    topic_arn = clients.client("sns").create_topic(Name=topo.topic_name)["TopicArn"]
    env: dict[str, str] = {
        "APP_TABLE_NAME": topo.table.name,
        "AUDIT_TABLE_NAME": topo.audit_table.name,
        "EVENTS_TOPIC_ARN": topic_arn,
        "INVENTORY_BUCKET": topo.bucket.name,
    }
    for spec in topo.queues:
        url, arn = create_queue(clients, spec)
        env[f"{spec.name.removeprefix(topo.prefix).upper().replace('-', '_')}_QUEUE_URL"] = url
        if spec.event_types is not None:
            subscribe(clients, topic_arn, spec, url, arn)
    create_bucket(
        clients,
        topo.bucket.name,
        raw_prefix=topo.bucket.raw_prefix,
        raw_days=topo.bucket.raw_expiration_days,
        versioned=topo.bucket.versioned,
        noncurrent_days=topo.bucket.noncurrent_version_expiration_days,
    )
    create_bucket(clients, topo.lake_bucket, raw_prefix=None, raw_days=0)
    state_dir.mkdir(parents=True, exist_ok=True)
    if catalog == "s3tables":
        env.update(
            {
                "ICEBERG_CATALOG_TYPE": "s3tables",
                "ICEBERG_TABLE_BUCKET_ARN": create_table_bucket(clients, topo.table_bucket),
                "ICEBERG_NAMESPACE": topo.iceberg_namespace,
            }
        )
        iceberg = IcebergSettings(
            iceberg_catalog_type="s3tables",
            iceberg_table_bucket_arn=env["ICEBERG_TABLE_BUCKET_ARN"],
            iceberg_namespace=topo.iceberg_namespace,
        )
    else:
        env.update(
            {
                "ICEBERG_CATALOG_TYPE": "sql",
                "ICEBERG_CATALOG_URI": f"sqlite:///{(state_dir / 'iceberg-catalog.db').resolve()}",
                "ICEBERG_WAREHOUSE": f"s3://{topo.lake_bucket}/warehouse",
                "ICEBERG_NAMESPACE": topo.iceberg_namespace,
            }
        )
        iceberg = IcebergSettings(
            iceberg_catalog_uri=env["ICEBERG_CATALOG_URI"],
            iceberg_warehouse=env["ICEBERG_WAREHOUSE"],
            iceberg_namespace=topo.iceberg_namespace,
        )
    ensure_tables(load_catalog(iceberg), topo.iceberg_namespace)
    return env
