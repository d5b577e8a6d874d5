"""The patched moto server (inventory_cli.moto_fast) answers EC2 tags exactly as moto's own lookup does."""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from inventory_cli import moto_fast
from moto import backends

from tests.conftest import unique_accounts


def test_instance_tags_equal_describe_tags_by_resource_id(moto_endpoint: str) -> None:
    (account,) = unique_accounts(1)
    sts = boto3.client("sts", region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/any", RoleSessionName="fast")["Credentials"]
    ec2 = boto3.client(
        "ec2",
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    image = ec2.describe_images()["Images"][0]["ImageId"]
    reservation = ec2.run_instances(
        ImageId=image,
        MinCount=30,
        MaxCount=30,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "blue"}]}],
    )
    ids = [i["InstanceId"] for i in reservation["Instances"]]
    # different tags per instance, one untagged, and a value changed after creation
    for n, instance_id in enumerate(ids[:20]):
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": f"k{n % 3}", "Value": f"v{n}"}])
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "team", "Value": "red"}])
    ec2.delete_tags(Resources=[ids[-1]], Tags=[{"Key": "team"}])

    described = {
        i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
        for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
        for i in r["Instances"]
    }
    # moto's own (unpatched) describe_tags, filtered by resource id
    by_tags_api: dict[str, dict[str, str]] = {instance_id: {} for instance_id in ids}
    for tag in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ids}])["Tags"]:
        by_tags_api[tag["ResourceId"]][tag["Key"]] = tag["Value"]

    assert described == by_tags_api
    assert described[ids[0]]["team"] == "red"
    assert described[ids[-1]] == {}
    assert described[ids[4]] == {"team": "blue", "k1": "v4"}
    # a tag filter goes through the patched lookup as well
    tagged = ec2.describe_instances(Filters=[{"Name": "tag:k1", "Values": ["v4"]}])["Reservations"]
    assert [i["InstanceId"] for r in tagged for i in r["Instances"]] == [ids[4]]


def test_module_listing_is_listed_once_with_the_same_modules() -> None:
    root = Path(moto.__file__).parent
    expected = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("__"))
    moto_fast.patch_module_listing()
    moto_fast.patch_module_listing()  # idempotent
    assert list(backends.list_of_moto_modules()) == expected
    assert "ec2" in expected and "dynamodb" in expected


def test_queue_counts_equal_moto_message_by_message() -> None:
    from moto.sqs.models import SQSBackend

    moto_fast.patch_sqs_queue_counts()
    moto_fast.patch_sqs_queue_counts()  # idempotent
    backend = SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue("counts")
    for n in range(6):
        backend.send_message("counts", f"m{n}", delay_seconds=60 if n < 2 else 0)
    assert len(backend.receive_message("counts", 3, wait_seconds_timeout=0, visibility_timeout=60)) == 3

    attributes = queue.attributes
    counted = tuple(
        attributes[f"ApproximateNumberOf{name}"] for name in ("Messages", "MessagesDelayed", "MessagesNotVisible")
    )
    # moto's own definitions, message by message
    by_message = (
        len([m for m in queue._messages if m.visible and not m.delayed]),
        len([m for m in queue._messages if m.delayed]),
        len([m for m in queue._messages if not m.visible]),
    )
    assert counted == by_message == (1, 2, 3)
    # outside an attributes() call the properties still count message by message
    assert queue.approximate_number_of_messages == 1
    assert queue.approximate_number_of_messages_not_visible == 3
    fifo = backend.create_queue("counts.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    assert fifo.attributes["ContentBasedDeduplication"] == "true"
    assert queue.attributes.get("ContentBasedDeduplication") is None


def test_backend_lookup_is_remembered_with_the_same_answers() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_fast.patch_backend_lookup()
    moto_fast.patch_backend_lookup()  # idempotent
    patched = DomainDispatcherApplication.get_backend_for_host
    app = DomainDispatcherApplication(create_backend_app)
    hosts = [
        None,
        "moto_api",
        "sqs.us-east-1.amazonaws.com",
        "sns.eu-west-1.amazonaws.com",
        "s3.amazonaws.com",
        "some-bucket.s3.us-west-2.amazonaws.com",
        "ec2.ap-south-1.amazonaws.com",
        "dynamodb.us-east-1.amazonaws.com",
        "tagging.us-east-1.amazonaws.com",
        "example.org",
    ]
    for _ in range(2):  # the second round answers from the remembered hosts
        assert [patched(app, h) for h in hosts] == [patched.__wrapped__(app, h) for h in hosts]  # type: ignore[attr-defined]
    assert patched(app, "sqs.us-east-1.amazonaws.com") == "sqs"


def _pages(call: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of a Query or Scan (``call``): its items, counts and LastEvaluatedKey."""
    pages = []
    while True:
        response = call(**params)
        pages.append({k: response.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        if "LastEvaluatedKey" not in response:
            return pages
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def test_dynamodb_query_answers_equal_moto_whole_table_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    """Base-table and index queries, paged, with conditions, filters and projections: patched == moto's own."""
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not the session's server
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.dynamo_type import Item

    moto_fast.patch_dynamodb_query()
    moto_fast.patch_dynamodb_query()  # idempotent
    moto_fast.patch_dynamodb_projection()
    moto_fast.patch_dynamodb_projection()  # idempotent
    patched = (Table.query, Table.all_items, Item.project)
    assert getattr(Table.query, "_inventory_fast", False) and getattr(Item.project, "_inventory_fast", False)
    rng = random.Random(7)
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "gsi2",
                    "KeySchema": [{"AttributeName": "gsi2pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        rows = [(f"ACCOUNT#{a}", f"RES#{t}#{n:04d}") for a in range(4) for t in ("ec2", "s3", "vpc") for n in range(40)]
        rng.shuffle(rows)  # moto's dict order is insertion order: not key order
        for pk, sk in rows:
            item: dict[str, Any] = {
                "pk": {"S": pk},
                "sk": {"S": sk},
                "weight": {"N": str(rng.randint(0, 9))},
                "pad": {"S": "x" * 50},
            }
            # a stored configuration: nested maps and lists, projected whole or by path
            item["cfg"] = {"M": {"a": {"S": sk}, "n": {"N": str(rng.randint(0, 99))}, "l": {"L": [{"S": "x"}]}}}
            item["tags"] = {"L": [{"S": f"t{rng.randint(0, 3)}"}, {"M": {"k": {"S": "v"}}}]}
            if rng.random() < 0.8:  # sparse index: some items are not in it
                item["gsi1pk"] = {"S": f"TYPE#{sk.split('#')[1]}"}
                item["gsi1sk"] = {"S": f"{rng.choice('abc')}#{pk}"}  # equal index range keys across partitions
            if rng.random() < 0.5:
                item["gsi2pk"] = {"S": f"G{rng.randint(0, 2)}"}
            client.put_item(TableName="t", Item=item)
        client.delete_item(TableName="t", Key={"pk": {"S": "ACCOUNT#3"}, "sk": {"S": "RES#s3#0001"}})

        def v(s: str) -> dict[str, str]:
            return {"S": s}

        queries: list[dict[str, Any]] = [
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": v("ACCOUNT#1")}},
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": v("ACCOUNT#9")}},
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#2"), ":s": v("RES#s3#")},
                "Limit": 7,
            },
            {
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#3"), ":a": v("RES#ec2#0010"), ":b": v("RES#s3#0005")},
                "ScanIndexForward": False,
                "Limit": 9,
                "ProjectionExpression": "pk, sk, weight",
            },
            {
                "KeyConditionExpression": "pk = :p",
                "FilterExpression": "weight > :n",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#0"), ":n": {"N": "4"}},
                "Limit": 11,
            },
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p",
                "ExpressionAttributeValues": {":p": v("TYPE#vpc")},
                "Limit": 13,
            },
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p AND begins_with(gsi1sk, :s)",
                "ExpressionAttributeValues": {":p": v("TYPE#ec2"), ":s": v("b#")},
                "ScanIndexForward": False,
                "Limit": 5,
            },
            {
                "IndexName": "gsi2",
                "KeyConditionExpression": "gsi2pk = :p",
                "ExpressionAttributeValues": {":p": v("G1")},
                "Limit": 10,
            },
            # projections as the projector's sweep asks them (top-level names, one through a placeholder), by
            # nested path and list index (moto's own code), and of an index query
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "FilterExpression": "weight > :n",
                "ProjectionExpression": "pk, sk, #w, cfg, tags, absentAttribute",
                "ExpressionAttributeNames": {"#w": "weight"},
                "ExpressionAttributeValues": {":p": v("ACCOUNT#1"), ":s": v("RES#ec2#"), ":n": {"N": "2"}},
                "Limit": 8,
            },
            {
                "KeyConditionExpression": "pk = :p",
                "ProjectionExpression": "sk, cfg.a, cfg.l, tags[1].k",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#2")},
                "Limit": 15,
            },
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p",
                "ProjectionExpression": "pk, sk, cfg",
                "ExpressionAttributeValues": {":p": v("TYPE#s3")},
                "Limit": 12,
            },
            # begins_with where the last page ends on the last match, with and without an item after the run in the
            # query's order (moto's LastEvaluatedKey depends on it), and a prefix nothing begins with
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#2"), ":s": v("RES#s3#")},
                "Limit": 8,
            },
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#1"), ":s": v("RES#vpc#")},
                "Limit": 10,
            },
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#0"), ":s": v("RES#s3#")},
                "ScanIndexForward": False,
                "Limit": 10,
            },
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#0"), ":s": v("RES#ec2#")},
                "ScanIndexForward": False,
                "Limit": 20,
            },
            {
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": v("ACCOUNT#0"), ":s": v("RES#nothing#")},
            },
        ]
        keys = [{"pk": v(f"ACCOUNT#{n % 4}"), "sk": v(f"RES#vpc#{n:04d}")} for n in range(30)]
        batch = {"t": {"Keys": keys, "ProjectionExpression": "sk, weight, cfg", "ConsistentRead": True}}

        def answers() -> list[Any]:
            got = client.batch_get_item(RequestItems=batch)["Responses"]["t"]
            return [
                [_pages(client.query, TableName="t", **q) for q in queries],
                sorted(got, key=lambda i: i["sk"]["S"]),
            ]

        fast = answers()
        monkeypatch.setattr(Table, "query", patched[0].__wrapped__)  # type: ignore[attr-defined]
        monkeypatch.setattr(Table, "all_items", patched[1].__wrapped__)  # type: ignore[attr-defined]
        monkeypatch.setattr(Item, "project", patched[2].__wrapped__)  # type: ignore[attr-defined]
        monkeypatch.setattr(table_module, "copy", copy)
        moto_own = answers()
        # AND the stored items were not changed by the projected answers (nothing was shared with them)
        assert answers() == moto_own
    assert fast == moto_own
    assert len(fast[1]) == 30 and all(set(i) == {"sk", "weight", "cfg"} for i in fast[1])
    fast = fast[0]
    counts = [sum(p["Count"] for p in pages) for pages in fast]
    assert counts[0] == 120 and counts[1] == 0 and counts[2] == 40
    assert all(c > 0 for c in counts[3:-1]) and counts[-1] == 0
    # the begins_with pages: an empty last page after the run's last match where an item follows it (forward
    # and backward), none where the partition ends there
    assert [len(pages) for pages in fast[-5:-1]] == [6, 4, 5, 2]
    assert sum(len(pages) > 1 for pages in fast) >= 5  # paging went through ExclusiveStartKey


def _scan_scenario(client: Any, name: str) -> list[list[dict[str, Any]]]:
    """Fill two tables (with and without a sort key) the same way each call; scan them every way the code does."""
    rng = random.Random(11)
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    flat = f"{name}-flat"
    client.create_table(
        TableName=flat,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rows = [(f"ACCOUNT#{a}", f"RES#{t}#{n:04d}") for a in range(12) for t in ("ec2", "s3") for n in range(15)]
    rng.shuffle(rows)  # moto's dict order is insertion order: not key order
    for pk, sk in rows:
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "weight": {"N": str(rng.randint(0, 9))}, "pad": {"S": "x" * 40}}
        if rng.random() < 0.7:
            item["gsi1pk"] = {"S": f"G{rng.randint(0, 3)}"}
        client.put_item(TableName=name, Item=item)
    for n in rng.sample(range(300), 120):  # numbers: moto orders them by value, not as text
        client.put_item(TableName=flat, Item={"id": {"N": str(n)}, "v": {"S": f"v{n % 7}"}})
    client.delete_item(TableName=name, Key={"pk": {"S": "ACCOUNT#3"}, "sk": {"S": "RES#s3#0001"}})
    scans: list[dict[str, Any]] = [
        {"TableName": name},
        {"TableName": name, "Limit": 17},
        *({"TableName": name, "Segment": s, "TotalSegments": 4, "Limit": 13} for s in range(4)),
        {
            "TableName": name,
            "Segment": 1,
            "TotalSegments": 3,
            "Limit": 9,
            "FilterExpression": "weight > :n",
            "ExpressionAttributeValues": {":n": {"N": "4"}},
            "ProjectionExpression": "pk, sk, weight",
        },
        {"TableName": name, "IndexName": "gsi1", "Limit": 10},
        {"TableName": flat, "Limit": 11},
        *({"TableName": flat, "Segment": s, "TotalSegments": 2, "Limit": 8} for s in range(2)),
    ]
    answers = [_pages(client.scan, **params) for params in scans]
    # writes between pages: a deleted item is not answered, a new one after the start key is
    first = client.scan(TableName=name, Segment=0, TotalSegments=2, Limit=20)
    pk = first["Items"][5]["pk"]
    client.delete_item(TableName=name, Key={"pk": pk, "sk": first["Items"][-1]["sk"]})
    client.put_item(TableName=name, Item={"pk": pk, "sk": {"S": "RES#zzz#9999"}})
    client.update_item(
        TableName=name,
        Key={"pk": pk, "sk": {"S": "RES#zzz#9999"}},
        UpdateExpression="SET weight = :w",
        ExpressionAttributeValues={":w": {"N": "42"}},
    )
    rest = _pages(
        client.scan, TableName=name, Segment=0, TotalSegments=2, Limit=20, ExclusiveStartKey=first["LastEvaluatedKey"]
    )
    answers.append([{k: first.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}, *rest])
    return answers


def test_dynamodb_scan_answers_equal_moto_whole_table_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paged, segmented, filtered, projected and index scans, and writes between pages: patched == moto's own."""
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not the session's server
    moto_fast.patch_dynamodb_scan()
    moto_fast.patch_dynamodb_scan()  # idempotent
    assert getattr(Table.scan, "_inventory_fast", False)
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        fast = _scan_scenario(client, "fast")
        for name in ("scan", "put_item", "delete_item", "all_items"):
            monkeypatch.setattr(Table, name, getattr(Table, name).__wrapped__)
        moto_own = _scan_scenario(client, "own")
    assert fast == moto_own
    counts = [sum(p["Count"] for p in pages) for pages in fast]
    assert counts[0] == counts[1] == sum(counts[2:6]) == 359
    assert counts[8] == 120 and counts[9] + counts[10] == 120
    assert all(len(pages) > 1 for pages in fast[1:])  # every scan but the first went through ExclusiveStartKey
    assert {"pk": fast[-1][0]["Items"][5]["pk"], "sk": {"S": "RES#zzz#9999"}, "weight": {"N": "42"}} in [
        item for page in fast[-1] for item in page["Items"]
    ]


def test_sns_topic_keeps_its_latest_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publishing answers as before; the topic's inspection list holds the same tuples for the latest messages."""
    from moto import mock_aws
    from moto.sns.models import sns_backends

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not the session's server
    monkeypatch.setattr(moto_fast, "KEPT_NOTIFICATIONS", 3)
    moto_fast.patch_sns_sent_notifications()
    moto_fast.patch_sns_sent_notifications()  # idempotent
    with mock_aws():
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="t")["TopicArn"]
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        ids = [sns.publish(TopicArn=topic, Message=f"m{n}")["MessageId"] for n in range(5)]
        kept = list(sns_backends["123456789012"]["us-east-1"].topics[topic].sent_notifications)
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [(k[0], k[1]) for k in kept] == [(ids[n], f"m{n}") for n in (2, 3, 4)]
    assert sorted(m["Body"] for m in received) == [f"m{n}" for n in range(5)]  # every message delivered


def test_model_instances_are_tracked_while_alive_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaced items and deleted objects are freed; moto answers as before and lists the live instances."""
    import gc

    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import Item
    from moto.s3.models import FakeKey

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not the session's server
    moto_fast.patch_instance_tracking()
    moto_fast.patch_instance_tracking()  # idempotent
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for n in range(300):  # one item, written 300 times and read back each time
            ddb.put_item(TableName="t", Item={"pk": {"S": "one"}, "n": {"N": str(n)}})
            ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "one"}})
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="tracked-bucket")
        for n in range(200):
            s3.put_object(Bucket="tracked-bucket", Key=f"k{n}", Body=b"x" * 1024)
            if n:
                s3.delete_object(Bucket="tracked-bucket", Key=f"k{n - 1}")
        gc.collect()
        items, keys = list(Item.instances_tracked), list(FakeKey.instances_tracked)  # type: ignore[attr-defined]
        answer = ddb.get_item(TableName="t", Key={"pk": {"S": "one"}})["Item"]
        listed = s3.list_objects_v2(Bucket="tracked-bucket")["Contents"]
    assert answer["n"] == {"N": "299"}  # the last write, as moto answers without the patch
    assert [o["Key"] for o in listed] == ["k199"]
    assert 1 <= len(items) < 20  # moto's list held all 600+ versions and query copies
    assert any(getattr(item.attrs.get("n"), "value", None) == "299" for item in items)  # the live item is still listed
    assert 1 <= len(keys) < 10  # and every deleted object's body


def _answers(sock: Any, count: int) -> list[tuple[int, bytes]]:
    """Read ``count`` HTTP responses framed by Content-Length from one socket: (status, body) each."""
    stream = sock.makefile("rb")
    answers = []
    for _ in range(count):
        status = int(stream.readline().split()[1])
        length = 0
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answers.append((status, stream.read(length)))
    return answers


def test_one_connection_carries_many_calls_and_a_body_left_unread_is_skipped(moto_endpoint: str) -> None:
    import socket
    from urllib.parse import urlsplit

    # GIVEN the moto server of the tests (inventory_cli.moto_fast, keep-alive on)
    host, port = urlsplit(moto_endpoint).hostname, urlsplit(moto_endpoint).port
    list_tables = (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nAuthorization: AWS4-HMAC-SHA256 "
        b"Credential=testing/20261201/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    # a GET of the dashboard with a body nobody reads, then a call: the body must not be read as the next request
    unread = b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nnot-a-call\n"
    with socket.create_connection((host, port), timeout=30) as sock:
        # WHEN three requests go one after another on one connection, the first two sent at once (pipelined)
        sock.sendall(list_tables + unread)
        first = _answers(sock, 2)
        sock.sendall(list_tables)
        (third,) = _answers(sock, 1)
    # THEN each gets its own answer on the same connection (werkzeug's server closed it after every call)
    assert first[0][0] == 200 and b"TableNames" in first[0][1]
    assert first[1][0] == 200
    assert third[0] == 200 and b"TableNames" in third[1]

    # AND a request whose headers do not parse (a header line over http.server's 64 KiB) gets an error and the
    # connection closes: its framing is unknown, so what follows must not be read as a request
    too_long = b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n"
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(too_long + list_tables)
        answered = sock.makefile("rb").read()  # to the end: the server closes the connection
    assert answered.startswith(b"HTTP/1.1 431")
    assert b"TableNames" not in answered  # the call sent behind the bad request was not read as a request

    # AND boto3 reuses one pooled connection for consecutive calls
    client: Any = boto3.client("dynamodb", region_name="us-east-1")
    for _ in range(3):
        client.list_tables()
    pools = client._endpoint.http_session._manager.pools
    assert sum(pool.num_connections for pool in pools._container.values()) == 1


def test_cpu_stats_count_each_action_of_each_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_cli.moto_server import LOCAL_CREDENTIALS, MotoServer

    # GIVEN a server of its own that writes its CPU per action (MOTO_CPU_STATS)
    stats = tmp_path / "cpu.json"
    monkeypatch.setenv(moto_fast.CPU_STATS_ENV, str(stats))
    server = MotoServer.start()
    try:
        for name, value in {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint}.items():
            monkeypatch.setenv(name, value)
        # WHEN calls of each protocol are made: JSON (DynamoDB, SQS), query with a form body (STS, SNS), REST (S3)
        dynamodb: Any = boto3.client("dynamodb", region_name="us-east-1")
        for _ in range(3):
            dynamodb.list_tables()
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="cpu-stats")["QueueUrl"]
        boto3.client("sts", region_name="us-east-1").get_caller_identity()
        topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="cpu-stats")["TopicArn"]
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="cpu-stats")
        s3.put_object(Bucket="cpu-stats", Key="a/b.json", Body=b"{}")
        body = s3.get_object(Bucket="cpu-stats", Key="a/b.json")["Body"].read()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "s3 GET object" not in moto_fast.read_cpu_stats(stats):
            time.sleep(0.1)
        counted = moto_fast.read_cpu_stats(stats)
    finally:
        server.stop()
    # THEN each action is counted under its service with its calls and some CPU time
    assert counted["dynamodb ListTables"][0] == 3
    assert counted["sqs CreateQueue"][0] == 1 and queue.endswith("cpu-stats")
    assert counted["sts GetCallerIdentity"][0] == 1
    assert counted["sns CreateTopic"][0] == 1 and topic.endswith("cpu-stats")
    assert counted["s3 PUT bucket"][0] == 1
    assert counted["s3 PUT object"][0] == 1 and counted["s3 GET object"][0] == 1
    assert body == b"{}"  # the answers are whole: a form body read for its Action was handed on to moto
    assert all(cpu > 0 for _, cpu in counted.values())
    assert sum(calls for calls, _ in counted.values()) >= 9
    # AND a missing or unreadable file reads as no figures
    assert moto_fast.read_cpu_stats(tmp_path / "absent.json") == {}
    # AND a path the server could not write is refused at start with one line, not found at the first flush
    import subprocess
    import sys

    refused = subprocess.run(
        [sys.executable, "-m", "inventory_cli.moto_fast", "-p", "1"],
        env={**os.environ, moto_fast.CPU_STATS_ENV: str(tmp_path / "absent" / "cpu.json")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "its folder does not exist or is not writable" in refused.stderr

    # AND Python's garbage collections are counted per generation when the stats watch the collector
    import gc

    own = moto_fast.CpuStats(tmp_path / "gc.json")
    gc.callbacks.append(own.collector)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(own.collector)
    own.flush()
    collected = moto_fast.read_cpu_stats(tmp_path / "gc.json")
    assert collected["python gc gen 2"][0] >= 1 and collected["python gc gen 2"][1] >= 0
    # AND a collection that starts while the stats hold their lock (an allocation inside add or flush) does not wait
    # for it: the server hung at its first collection inside add() when the collector counted through add()
    import threading

    done = threading.Event()

    def collect_under_the_lock() -> None:
        with own._lock:
            own.collector("start", {"generation": 1})
            own.collector("stop", {"generation": 1})
        done.set()

    worker = threading.Thread(target=collect_under_the_lock, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert done.is_set()
    own.flush()
    assert moto_fast.read_cpu_stats(tmp_path / "gc.json")["python gc gen 1"][0] >= 1


def _pk_sk_table(name: str) -> Any:
    """A DynamoDB client of in-process moto with table ``name`` (string pk and sk, on demand)."""
    client: Any = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def test_dynamodb_answers_serialised_by_copy_equal_moto_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every AttributeValue kind, nested and empty, through each writing and reading action: patched == moto's own."""
    from moto import mock_aws
    from moto.core.parse import BaseJSONParser
    from moto.core.serialize import BaseJSONSerializer

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not the session's server
    for patch in (moto_fast.patch_dynamodb_serializer, moto_fast.patch_dynamodb_parser):
        patch()
        patch()  # idempotent
    patched = BaseJSONSerializer._serialize_type_structure
    parsing = BaseJSONParser._parse_structure
    assert getattr(patched, "_inventory_fast", False) and getattr(parsing, "_inventory_fast", False)
    copied = []
    real_json = moto_fast._attribute_json

    def counting(value: Any) -> Any:
        wire = real_json(value)
        copied.append(wire is not None)
        return wire

    monkeypatch.setattr(moto_fast, "_attribute_json", counting)
    every_kind: dict[str, Any] = {
        "s": {"S": "x"},
        "empty": {"S": ""},
        "unicode": {"S": "zürich-東京"},
        "n": {"N": "-12.50"},
        "b": {"B": b"\x00\x01bin"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"y"]},
        "t": {"BOOL": True},
        "f": {"BOOL": False},
        "null": {"NULL": True},
        "m": {"M": {"inner": {"M": {"deep": {"L": [{"S": "v"}, {"N": "1"}, {"NULL": True}]}}}, "e": {"M": {}}}},
        "l": {"L": [{"M": {"k": {"S": "v"}}}, {"L": []}, {"BOOL": False}]},
        "mixed": {"M": {"bin": {"B": b"\xff"}, "s": {"S": "s"}}},  # a binary value inside a map: moto's path
    }

    def answers() -> list[Any]:
        with mock_aws():
            client = _pk_sk_table("t")
            # written through each way a request carries values: PutItem, BatchWriteItem, an update's
            # expression values, TransactWriteItems
            for n in range(3):
                client.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": f"s{n}"}, **every_kind})
            client.batch_write_item(
                RequestItems={"t": [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "b"}, **every_kind}}}]}
            )
            client.update_item(
                TableName="t",
                Key={"pk": {"S": "u"}, "sk": {"S": "u"}},
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in every_kind),
                ExpressionAttributeNames={f"#{k}": k for k in every_kind},
                ExpressionAttributeValues={f":{k}": v for k, v in every_kind.items()},
            )
            client.transact_write_items(
                TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "w"}, "sk": {"S": "w"}, **every_kind}}}]
            )
            key = {"pk": {"S": "p"}, "sk": {"S": "s1"}}
            got = [
                client.get_item(TableName="t", Key=key),
                client.query(
                    TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
                ),
                client.scan(TableName="t"),
                client.batch_get_item(RequestItems={"t": {"Keys": [key], "ProjectionExpression": "sk, m, l, b"}}),
                client.update_item(
                    TableName="t",
                    Key=key,
                    UpdateExpression="SET s = :v",
                    ExpressionAttributeValues={":v": {"S": "y"}},
                    ReturnValues="ALL_NEW",
                ),
                client.put_item(TableName="t", Item={**key, "s": {"S": "z"}}, ReturnValues="ALL_OLD"),
                client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}]),
                client.scan(
                    TableName="t",
                    FilterExpression="pk IN (:b, :u, :w)",
                    ExpressionAttributeValues={":b": {"S": "b"}, ":u": {"S": "u"}, ":w": {"S": "w"}},
                ),
            ]
            for answer in got:
                answer.pop("ResponseMetadata", None)
            return got

    fast = answers()
    assert any(copied) and not all(copied)  # the copy served most values; binary ones took moto's path
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", patched.__wrapped__)  # type: ignore[attr-defined]
    monkeypatch.setattr(BaseJSONParser, "_parse_structure", parsing.__wrapped__)  # type: ignore[attr-defined]
    assert fast == answers()
    written = fast[-1]["Items"]
    assert len(written) == 3 and all(set(every_kind) <= set(item) for item in written)
    assert fast[0]["Item"]["b"] == {"B": b"\x00\x01bin"} and fast[0]["Item"]["f"] == {"BOOL": False}


def _patched_in_process(monkeypatch: pytest.MonkeyPatch, patch: Callable[[], None], owner: Any, name: str) -> Any:
    """Apply ``patch`` (twice: it is idempotent) for in-process moto; the patched ``owner.name``, checked as ours."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not the session's server
    patch()
    patch()
    patched = getattr(owner, name)
    assert getattr(patched, "_inventory_fast", False)
    return patched


def test_dynamodb_item_size_limit_refuses_exactly_what_moto_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Items around 400 KB through PutItem, BatchWriteItem and UpdateItem: refused by the patch exactly as by moto."""
    from moto import mock_aws
    from moto.dynamodb.models.dynamo_type import Item

    patched = _patched_in_process(monkeypatch, moto_fast.patch_dynamodb_item_size, Item, "__init__")
    built = []

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        patched(self, *args, **kwargs)

    # pk "p" (2 + 1 bytes), sk "s" (2 + 1), "n" (1 + 1), "big" (3 + length): 11 bytes beside the big string
    lengths = [moto_fast._item_size_limit_of_moto() - 11 + delta for delta in (-1, 0, 1, 2)]
    many = {f"a{i:02d}": {"M": {"x": {"L": [{"S": "v" * 20}, {"N": "1"}]}}} for i in range(30)}

    def outcomes() -> list[Any]:
        with mock_aws():
            client = _pk_sk_table("t")
            seen: list[Any] = []

            def attempt(call: Any, **params: Any) -> None:
                try:
                    call(**params)
                except client.exceptions.ClientError as exc:
                    seen.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
                else:
                    seen.append("ok")

            for length in lengths:
                item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "n": {"S": "n"}, "big": {"S": "x" * length}}
                attempt(client.put_item, TableName="t", Item=item)
                attempt(client.batch_write_item, RequestItems={"t": [{"PutRequest": {"Item": item}}]})
                # grown by an update: the new item is built whole, then checked
                attempt(
                    client.update_item,
                    TableName="t",
                    Key={"pk": {"S": "p"}, "sk": {"S": "u"}},
                    UpdateExpression="SET big = :b",
                    ExpressionAttributeValues={":b": {"S": "x" * length}},
                )
            attempt(client.put_item, TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": "m"}, **many})
            seen.append(client.scan(TableName="t", Select="COUNT")["Count"])
            return seen

    monkeypatch.setattr(Item, "__init__", counting)
    fast = outcomes()
    assert built  # the patched construction served the writes
    assert "ok" in fast and any(isinstance(o, tuple) for o in fast)  # the limit lies between the lengths tried
    monkeypatch.setattr(Item, "__init__", patched.__wrapped__)
    assert fast == outcomes()


def test_gc_freezing_walks_survivors_once_and_sweeps_cycles_later() -> None:
    """After a full collection the survivors are frozen; a cycle among them waits for the sweep, which frees it."""
    import gc
    import weakref

    class Node:
        other: Any = None

    before = len(gc.callbacks)
    with moto_fast.gc_freezing(sweep_s=3600) as policy:
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle, alive for now
        watch = weakref.ref(a)
        gc.collect()
        assert policy.frozen_after == 1 and gc.get_freeze_count() > 0
        del a, b  # garbage now, but frozen: full collections no longer walk it
        gc.collect()
        assert watch() is not None
        policy.sweep()  # unfrozen and collected once
        assert watch() is None and policy.sweeps == 1
        assert gc.get_freeze_count() > 0  # the sweep's survivors frozen again
    assert len(gc.callbacks) == before and gc.get_freeze_count() == 0


def test_attribute_picker_names_remembered_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """EC2, SNS and CloudFormation answers (transformers, explicit aliases) with the names remembered == moto's."""
    from moto import mock_aws
    from moto.core.serialize import AttributePicker

    patched = _patched_in_process(monkeypatch, moto_fast.patch_attribute_picker, AttributePicker, "__call__")
    with mock_aws():
        ec2: Any = boto3.client("ec2", region_name="eu-west-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="g", Description="d", VpcId=vpc)["GroupId"]
        ids = [
            i["InstanceId"]
            for i in ec2.run_instances(
                ImageId="ami-12c6146b",
                InstanceType="t3.micro",
                MinCount=7,
                MaxCount=7,
                SubnetId=subnet,
                SecurityGroupIds=[group],
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "data"}]}],
            )["Instances"]
        ]
        ec2.stop_instances(InstanceIds=ids[:3])
        ec2.create_tags(Resources=ids[:2], Tags=[{"Key": "Name", "Value": "web"}])
        ec2.create_image(InstanceId=ids[0], Name="image")  # Image.CreationDate: a response transformer
        sns: Any = boto3.client("sns", region_name="eu-west-1")
        topic = sns.create_topic(Name="t", Tags=[{"Key": "k", "Value": "v"}])["TopicArn"]
        cfn: Any = boto3.client("cloudformation", region_name="eu-west-1")
        cfn.create_stack(
            StackName="s",
            TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
            Tags=[{"Key": "k", "Value": "v"}],
        )
        calls: list[Callable[[], Any]] = [
            lambda: ec2.describe_instances(),
            lambda: ec2.describe_instances(InstanceIds=ids[:2]),
            lambda: ec2.describe_vpcs(),
            lambda: ec2.describe_subnets(),
            lambda: ec2.describe_security_groups(),
            lambda: ec2.describe_images(Owners=["self"]),
            lambda: ec2.describe_network_interfaces(),
            lambda: sns.get_topic_attributes(TopicArn=topic),  # transformed attributes
            lambda: sns.list_tags_for_resource(ResourceArn=topic),
            lambda: cfn.describe_stacks(),  # a model with its own serialization aliases
            lambda: cfn.describe_stack_resources(StackName="s"),
        ]

        def answers() -> list[Any]:
            got = [call() for call in calls]
            for answer in got:
                answer.pop("ResponseMetadata", None)
            return got

        fast = answers()
        monkeypatch.setattr(AttributePicker, "__call__", patched.__wrapped__)
        assert fast == answers()
    assert len(fast[0]["Reservations"][0]["Instances"]) == 7 and fast[5]["Images"][0]["CreationDate"]
    assert fast[7]["Attributes"]["TopicArn"] == topic and fast[9]["Stacks"][0]["StackName"] == "s"


def test_dynamodb_value_size_equals_moto_for_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sizes of every AttributeValue kind, nested and empty: the patch's sums equal moto's own."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    patched = _patched_in_process(monkeypatch, moto_fast.patch_dynamodb_value_size, DynamoType, "size")
    rng = random.Random(7)

    def value(depth: int) -> dict[str, Any]:
        kind = rng.choice(["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"] if depth else ["S", "N"])
        match kind:
            case "S":
                return {"S": rng.choice(["", "x", "zürich-東京", "v" * rng.randint(1, 300)])}
            case "N":
                return {"N": rng.choice(["0", "-12.50", "1e10", str(rng.randint(-(10**30), 10**30))])}
            case "B":
                return {"B": bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 40)))}
            case "BOOL":
                return {"BOOL": rng.random() < 0.5}
            case "NULL":
                return {"NULL": True}
            case "SS":
                return {"SS": [f"s{i}-é" for i in range(rng.randint(1, 5))]}
            case "NS":
                return {"NS": [str(rng.randint(-999, 999) / 8) for _ in range(rng.randint(1, 5))]}
            case "BS":
                return {"BS": [bytes([i, 255]) for i in range(rng.randint(1, 4))]}
            case "L":
                return {"L": [value(depth - 1) for _ in range(rng.randint(0, 4))]}
            case _:
                return {"M": {f"k{i}-ü": value(depth - 1) for i in range(rng.randint(0, 4))}}

    values = [DynamoType(value(4)) for _ in range(400)]
    item = Item(DynamoType({"S": "p"}), DynamoType({"S": "s"}), {f"a{i}": value(3) for i in range(20)})
    fast = [v.size() for v in values] + [item.size()]
    monkeypatch.setattr(DynamoType, "size", patched.__wrapped__)  # moto's own, at every level of the recursion
    assert fast == [v.size() for v in values] + [item.size()]
    assert len(set(fast)) > 50  # the values differ: the comparison is not of a few trivial sizes
